"""Reads of accounts."""

from accounts.models import ApiToken, User


def api_tokens_of(*, user: User):
    """Every API token of `user`, live or not (the list shows revoked and expired ones too)."""
    return ApiToken.objects.filter(user=user)


def superuser_exists() -> bool:
    return User.objects.filter(is_superuser=True).exists()
