"""How API callers authenticate: a personal token (`Authorization: Bearer`) or the
Django session cookie (with CSRF on unsafe methods); and who may call staff-only endpoints."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from ninja.security import HttpBearer, SessionAuth

from accounts.services import api_token_authenticate
from config.errors import PermissionDenied


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        user = api_token_authenticate(raw_token=token)
        if user is not None:
            request.user = user
        return user


def anonymous(request):
    """Last in a list of authenticators: lets a visitor through as AnonymousUser."""
    if request.headers.get("Authorization"):
        return None  # a bad token is an error, not a visitor
    return AnonymousUser()


# The API's schema documents an operation with this authenticator as `security: [..., {}]` (no auth needed).
anonymous.allows_anonymous = True


bearer_auth = BearerTokenAuth()
session_auth = SessionAuth(csrf=True)

# Endpoints for signed-in users (the API default).
user_auth = [bearer_auth, session_auth]
# Endpoints anyone may call; a signed-in caller is still recognised.
optional_auth = [bearer_auth, session_auth, anonymous]


def require_staff(request) -> None:
    """First line of a staff-only endpoint (which also has `auth=user_auth`): others get 403."""
    if not request.user.is_staff:
        raise PermissionDenied("Only staff may call this endpoint.", code="staff_only")
