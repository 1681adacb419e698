"""Business logic of accounts."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, ServiceError

EMAIL_VERIFICATION_SALT = "accounts.email-verification"


def email_verification_token_create(*, user: User) -> str:
    """A signed, timestamped token naming the user and the address to confirm.

    It carries the address, so a link sent to an old address stops working when the
    address changes; it expires after EMAIL_VERIFICATION_MAX_AGE seconds.
    """
    return signing.dumps({"user": user.pk, "email": user.email.lower()}, salt=EMAIL_VERIFICATION_SALT, compress=True)


def email_verification_url(*, user: User) -> str:
    token = email_verification_token_create(user=user)
    return f"{settings.SITE_URL}/api/auth/verify-email?{urlencode({'token': token})}"


def email_verify(*, token: str) -> User:
    """Mark the address in `token` verified. Tampered, expired, stale or used links are refused."""
    try:
        claims = signing.loads(token, salt=EMAIL_VERIFICATION_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ServiceError(
            "This verification link has expired. Ask for a new one: POST /api/auth/verify-email/resend.",
            code="link_expired",
        ) from None
    except signing.BadSignature:
        raise ServiceError("This verification link is not valid (it was changed or cut short).", code="link_invalid") from None
    if not isinstance(claims, dict) or "user" not in claims or "email" not in claims:
        raise ServiceError("This verification link is not valid.", code="link_invalid")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=claims["user"]).first()
        if user is None or user.email.lower() != claims["email"]:
            raise ServiceError(
                "This verification link is for an address that is no longer on the account.", code="link_stale"
            )
        if user.email_verified_at is not None:
            raise Conflict("This verification link was already used: the address is verified.", code="link_used")
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user
