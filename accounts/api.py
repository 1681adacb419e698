from datetime import datetime
from typing import Literal

from django.conf import settings
from django.contrib.auth import login, logout, update_session_auth_hash
from django.middleware.csrf import get_token
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from ninja.utils import check_csrf
from pydantic import Field

from accounts import selectors, services
from accounts.auth import manage_tokens_auth, user_auth
from accounts.models import DEFAULT_TOKEN_SCOPES, TokenScope
from accounts.siwe import site_origin
from accounts.throttles import sensitive_throttle
from core.errors import PermissionDenied
from core.schemas import ErrorOut

router = Router(tags=["auth"])
# Sign-In with Ethereum (mounted at /api/auth/siwe): a nonce for this session, then the signed
# EIP-4361 message. Signs the wallet's account in, or links the wallet to the signed-in user.
siwe_router = Router(tags=["auth"], auth=None)


def require_csrf(request) -> None:
    """Session-changing endpoints open to visitors still need Django's CSRF token."""
    if check_csrf(request) is not None:
        raise PermissionDenied("CSRF check failed: GET /api/auth/csrf, then send its token as X-CSRFToken.", code="csrf_failed")


class UserOut(Schema):
    id: int
    email: str
    display_name: str
    wallet_address: str | None
    email_verified: bool
    is_staff: bool


class RegisterIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    display_name: str = Field("", max_length=80)


class LoginIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class CsrfOut(Schema):
    csrf_token: str


Scope = Literal[tuple(TokenScope.values)]  # read, upload, write, manage-tokens


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)
    scopes: list[Scope] = Field(
        default_factory=lambda: list(DEFAULT_TOKEN_SCOPES),
        description="read: every GET; upload: add videos and IPFS files; write: change or delete them; "
                    "manage-tokens: list, create and revoke tokens, change the password. Default: read, upload. "
                    "A token minting a token can grant only scopes it holds.",
    )


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    scopes: list[str]


class PasswordChangeIn(Schema):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself. Shown this once; store it now.")


@router.get("/csrf", response=CsrfOut, auth=None)
def csrf(request):
    """A CSRF token (also set as the `csrftoken` cookie) for the session endpoints."""
    return {"csrf_token": get_token(request)}


@router.post("/register", response={201: UserOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut, 429: ErrorOut},
             auth=None, throttle=[sensitive_throttle])
def register(request, payload: RegisterIn):
    """Create an account (Django's password validators apply) and sign in with it."""
    require_csrf(request)
    user = services.user_register(email=payload.email, password=payload.password, display_name=payload.display_name)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return Status(201, user)


@router.post("/login", response={200: UserOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut}, auth=None,
             throttle=[sensitive_throttle])
def sign_in(request, payload: LoginIn):
    """Sign in with email and password. After LOGIN_FAILURE_LIMIT failures the account, and the address,
    are locked out for LOGIN_LOCKOUT_MINUTES: 429 `locked_out`, even with the right password."""
    require_csrf(request)
    user = services.user_check_credentials(request=request, email=payload.email, password=payload.password)
    login(request, user)
    return user


@router.post("/logout", response={204: None}, auth=user_auth)
def sign_out(request):
    logout(request)
    return Status(204, None)


@router.get("/me", response=UserOut, auth=user_auth)
def me(request):
    return request.user


@router.post("/password", response={204: None, 400: ErrorOut, 429: ErrorOut}, auth=manage_tokens_auth)
def change_password(request, payload: PasswordChangeIn):
    """Change the password (the current one is checked, and counted by the login lockout). Every API token
    is revoked and every other session ends; this session stays signed in."""
    services.user_password_change(request=request, user=request.user, current_password=payload.current_password,
                                  new_password=payload.new_password)
    if getattr(request, "api_token", None) is None:
        update_session_auth_hash(request, request.user)
    return Status(204, None)


@router.get("/tokens", response=list[TokenOut], auth=manage_tokens_auth)
@paginate
def list_tokens(request):
    return selectors.api_tokens_of(user=request.user)


@router.post("/tokens", response={201: TokenCreatedOut, 400: ErrorOut}, auth=manage_tokens_auth)
def create_token(request, payload: TokenIn):
    token, raw = services.api_token_create(user=request.user, name=payload.name, expires_in_days=payload.expires_in_days,
                                           scopes=payload.scopes, granting_token=getattr(request, "api_token", None))
    token.token = raw
    return Status(201, token)


@router.delete("/tokens/{token_id}", response={204: None, 404: ErrorOut}, auth=manage_tokens_auth)
def revoke_token(request, token_id: int):
    services.api_token_revoke(user=request.user, token_id=token_id)
    return Status(204, None)

class VerifyEmailIn(Schema):
    token: str


class EmailVerifiedOut(Schema):
    email: str
    email_verified_at: datetime


class VerificationResendIn(Schema):
    email: str


class AcceptedOut(Schema):
    message: str


@router.get("/verify-email", response={200: EmailVerifiedOut, 400: ErrorOut, 409: ErrorOut, 429: ErrorOut}, auth=None,
            throttle=[sensitive_throttle])
def verify_email(request, params: Query[VerifyEmailIn]):
    """Confirm an email address with the link from the welcome email (works once, expires)."""
    user = services.email_verify(token=params.token)
    return {"email": user.email, "email_verified_at": user.email_verified_at}


@router.post("/verify-email/resend", response={202: AcceptedOut, 400: ErrorOut, 422: ErrorOut, 429: ErrorOut}, auth=None,
             throttle=[sensitive_throttle])
def resend_verification_email(request, payload: VerificationResendIn):
    """Email a new verification link to an unverified account (at most one per hour per account).

    The answer is the same whether or not the address has an account.
    """
    services.email_verification_request(email_address=payload.email)
    return Status(202, {"message": "If an unverified account uses this address, a new link is on its way."})


class NonceOut(Schema):
    nonce: str
    expires_at: str
    domain: str
    uri: str
    chain_id: int


class VerifyIn(Schema):
    message: str
    signature: str


class SignedInOut(Schema):
    user_id: int
    email: str
    wallet_address: str
    linked: bool


@siwe_router.get("/nonce", response=NonceOut, throttle=[sensitive_throttle])
def siwe_nonce(request):
    """A single-use nonce (10 minutes) bound to this browser session, and the fields to sign."""
    if not request.session.session_key:
        request.session.save()
    nonce = services.siwe_nonce_issue(session_key=request.session.session_key)
    site = site_origin(settings.SITE_URL)
    return {"nonce": nonce.nonce, "expires_at": nonce.expires_at.isoformat(), "domain": site.domain,
            "uri": site.origin, "chain_id": settings.CHAIN_ID}


@siwe_router.post("/verify", response={200: SignedInOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut},
                  throttle=[sensitive_throttle])
def siwe_verify(request, payload: VerifyIn):
    """Check the signed message; sign in (or link the wallet to the signed-in user)."""
    signed_in = request.user if request.user.is_authenticated else None
    user = services.siwe_verify(
        message=payload.message, signature=payload.signature, user=signed_in, session_key=request.session.session_key or ""
    )
    if signed_in is None:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return {"user_id": user.pk, "email": user.email, "wallet_address": user.wallet_address, "linked": signed_in is not None}
