"""How API callers authenticate: a personal token (`Authorization: Bearer`) or the
Django session cookie (with CSRF on unsafe methods)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from ninja.security import HttpBearer, SessionAuth

from accounts.services import api_token_authenticate


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


bearer_auth = BearerTokenAuth()
session_auth = SessionAuth(csrf=True)

# Endpoints for signed-in users (the API default).
user_auth = [bearer_auth, session_auth]
# Endpoints anyone may call; a signed-in caller is still recognised.
optional_auth = [bearer_auth, session_auth, anonymous]
