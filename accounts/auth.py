"""How API callers authenticate: a personal token (`Authorization: Bearer`) or the
Django session cookie (with CSRF on unsafe methods); what a token's scopes let it do; and who may
call staff-only endpoints."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from ninja.security import HttpBearer, SessionAuth

from accounts.models import TokenScope
from accounts.services import api_token_find, scope_missing
from core.errors import PermissionDenied

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class BearerTokenAuth(HttpBearer):
    """A personal API token that holds `scope`. Without an explicit scope, reads need `read` and
    anything else `write`, so an operation that forgets to name its scope fails closed.
    A token without the scope is a 403 `scope_missing`, not another authenticator's turn."""

    def __init__(self, scope: str | None = None):
        super().__init__()
        self.scope = scope

    def required_scope(self, request) -> str:
        if self.scope:
            return self.scope
        return TokenScope.READ.value if request.method in SAFE_METHODS else TokenScope.WRITE.value

    def authenticate(self, request, token: str):
        # Found already by the upload guard (accounts.uploads) for this very request and header.
        api_token = getattr(request, "api_token", None) or api_token_find(raw_token=token)
        if api_token is None:
            return None
        scope = self.required_scope(request)
        if scope not in api_token.scopes:
            raise scope_missing(scope)
        request.user = api_token.user
        request.api_token = api_token
        return api_token.user


def anonymous(request):
    """Last in a list of authenticators: lets a visitor through as AnonymousUser."""
    if request.headers.get("Authorization"):
        return None  # a bad token is an error, not a visitor
    return AnonymousUser()


# The API's schema documents an operation with this authenticator as `security: [..., {}]` (no auth needed).
anonymous.allows_anonymous = True


bearer_auth = BearerTokenAuth()
session_auth = SessionAuth(csrf=True)


def scoped_auth(scope: str) -> list:
    """Signed-in users, and tokens holding `scope`."""
    return [BearerTokenAuth(scope), session_auth]


# Endpoints for signed-in users (the API default): tokens need `read` to read, `write` for the rest.
user_auth = [bearer_auth, session_auth]
upload_auth = scoped_auth(TokenScope.UPLOAD.value)
manage_tokens_auth = scoped_auth(TokenScope.MANAGE_TOKENS.value)
# Endpoints anyone may call; a signed-in caller is still recognised (a token needs `read`).
optional_auth = [BearerTokenAuth(TokenScope.READ.value), session_auth, anonymous]


def require_staff(request) -> None:
    """First line of a staff-only endpoint (which also has `auth=user_auth`): others get 403."""
    if not request.user.is_staff:
        raise PermissionDenied("Only staff may call this endpoint.", code="staff_only")
