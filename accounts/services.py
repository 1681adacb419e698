"""What accounts do: registration, sign-in, password change, email verification, personal API tokens,
wallet sign-in (Sign-In with Ethereum) and wallet linking."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import siwe
from accounts.models import ApiToken, SiweNonce, TokenScope, User, default_token_scopes
from accounts.signals import email_verification_requested, wallet_linked
from core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ServiceError, TooManyAttempts

TOKEN_PREFIX = "fc_"
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
EMAIL_VERIFICATION_SALT = "accounts.email-verification"


def user_register(*, email: str, password: str, display_name: str = "") -> User:
    email = User.objects.normalize_email((email or "").strip())
    candidate = User(email=email, display_name=display_name)
    try:
        candidate.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
        password_validation.validate_password(password, user=candidate)
    except ValidationError as error:
        fields = error.message_dict if hasattr(error, "error_dict") else {"password": error.messages}
        raise ServiceError("The registration is not valid.", fields=fields) from None
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("An account with this email address exists already.", fields={"email": ["already registered"]})
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, display_name=display_name)
    except IntegrityError:
        raise Conflict("An account with this email address exists already.", fields={"email": ["already registered"]}) from None


def superuser_create(*, email: str, password: str | None = None) -> str:
    """A staff superuser `email` with `password` (default: a random one); returns the password, to show once."""
    password = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        User.objects.create_superuser(email=email, password=password)
    return password


def user_check_credentials(*, request, email: str, password: str) -> User:
    """The user these credentials name. Goes through django-axes (AUTHENTICATION_BACKENDS): a locked-out
    account or address is refused before the password is checked, and each failure is counted."""
    user = authenticate(request, username=(email or "").strip(), password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            from accounts.lockout import lockout_message

            raise TooManyAttempts(lockout_message(request))
        raise NotAuthenticated("Email or password is wrong.", code="invalid_credentials")
    return user


def user_password_change(*, request, user: User, current_password: str, new_password: str) -> User:
    """Set a new password after checking the current one (counted by the login lockout like any sign-in).

    Saving it revokes every API token (User.save) and ends the user's other sessions (their session hash
    no longer matches); the caller keeps its own session with update_session_auth_hash."""
    try:
        checked = user_check_credentials(request=request, email=user.email, password=current_password)
    except NotAuthenticated:
        raise ServiceError("The current password is wrong.", code="wrong_password",
                           fields={"current_password": ["wrong password"]}) from None
    if checked.pk != user.pk:
        raise ServiceError("The current password is wrong.", code="wrong_password",
                           fields={"current_password": ["wrong password"]})
    try:
        password_validation.validate_password(new_password, user=user)
    except ValidationError as error:
        raise ServiceError("The new password is not accepted.", fields={"new_password": error.messages}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
    return user


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def token_scopes_clean(scopes: Collection[str] | None) -> list[str]:
    if scopes is None:
        return default_token_scopes()
    unknown = sorted(set(scopes) - set(TokenScope.values))
    if unknown:
        raise ServiceError(f"Unknown scope(s): {', '.join(unknown)}; the scopes are {', '.join(TokenScope.values)}.",
                           fields={"scopes": ["unknown scope"]})
    return sorted(set(scopes))


def scope_missing(scope: str) -> PermissionDenied:
    return PermissionDenied(
        f"This API token lacks the '{scope}' scope this operation needs; create a token with it "
        "(POST /api/auth/tokens with \"scopes\") or sign in.", code="scope_missing")


def api_token_create(*, user: User, name: str, expires_in_days: int | None = None,
                     scopes: Collection[str] | None = None,
                     granting_token: ApiToken | None = None) -> tuple[ApiToken, str]:
    """A new token for `user` with `scopes` (default: read and upload); returns the row and the raw token,
    which is never stored. When a token mints it (`granting_token`), it cannot grant what it lacks."""
    scopes = token_scopes_clean(scopes)
    if granting_token is not None:
        for scope in [TokenScope.MANAGE_TOKENS.value, *scopes]:
            if scope not in granting_token.scopes:
                raise scope_missing(scope)
    name = (name or "").strip()
    if not name:
        raise ServiceError("A token needs a name.", fields={"name": ["required"]})
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ServiceError("expires_in_days is between 1 and 3650.", fields={"expires_in_days": ["out of range"]})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 8],
        token_hash=hash_token(raw),
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
        scopes=scopes,
    )
    return token, raw


def api_token_find(*, raw_token: str) -> ApiToken | None:
    """The live token (not revoked, not expired, its user active) for `raw_token`, with its user."""
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw_token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_tokens_revoke_all(*, user: User) -> int:
    """Revoke every live token of `user` (on a password change); returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


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


def email_verification_request(*, email_address: str) -> None:
    """Ask for a new verification link for the unverified, active account at `email_address`
    (`email_verification_requested`: the notifications app queues the email, at most one an hour).

    Unknown or verified addresses ask nothing; the caller answers the same either way, so the
    endpoint does not reveal who has an account."""
    try:
        validate_email(email_address.strip())
    except ValidationError:
        raise ServiceError("This is not an email address.", fields={"email": ["Enter a valid email address."]}) from None
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email_address.strip(), email_verified_at__isnull=True, is_active=True).first()
        if user is not None:
            email_verification_requested.send(sender=User, user=user)


# --- wallets and Sign-In with Ethereum ----------------------------------------------------------

SIWE_NONCE_TTL = timedelta(minutes=10)


def siwe_nonce_issue(*, session_key: str = "") -> SiweNonce:
    """A single-use nonce for the browser session `session_key`, valid SIWE_NONCE_TTL (older ones are swept)."""
    with transaction.atomic():
        SiweNonce.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
        return SiweNonce.objects.create(
            nonce=secrets.token_hex(16), session_key=session_key, expires_at=timezone.now() + SIWE_NONCE_TTL
        )


def siwe_verify(*, message: str, signature: str, user=None, session_key: str = "", now: datetime | None = None) -> User:
    """Check a signed EIP-4361 message against this site and a nonce we issued; use the nonce.

    Returns the user who signed in: the signed-in `user` (the wallet gets linked to them) or the
    account that already has this wallet. Raises ServiceError (4xx) for every rejection. The nonce
    must have been issued to the same browser session (`session_key`), so another site cannot
    replay a user's signature into its own session.
    """
    now = now or timezone.now()
    try:
        parsed = siwe.parse_message(message)
    except siwe.SiweError as error:
        raise ServiceError(f"Malformed sign-in message: {error}", code="siwe_malformed") from None
    site = siwe.site_origin(settings.SITE_URL)
    try:
        siwe.check_message(parsed, domain=site.domain, uri_origin=site.origin, chain_id=settings.CHAIN_ID, now=now)
        signer = siwe.recover_signer(message, signature)
    except siwe.SiweError as error:
        raise ServiceError(str(error), code=error.code) from None
    if signer != parsed.address.lower():
        raise ServiceError("The signature was not made by the message's address.", code="siwe_bad_signature")
    # One conditional UPDATE: of two requests with the same nonce, exactly one gets it. The nonce is
    # spent even when what follows fails.
    used = SiweNonce.objects.filter(
        nonce=parsed.nonce, session_key=session_key, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not used:
        raise ServiceError("The nonce is unknown, expired or already used; ask for a new one.", code="siwe_bad_nonce")
    return wallet_link(user=user, address=signer)


def wallet_link(*, user, address: str) -> User:
    """The user for `address`: link it to `user` when given (`wallet_linked` tells the apps that keep
    rows by address, in the same transaction); else the account that has it."""
    address = address.lower()
    holder = User.objects.filter(wallet_address=address).first()
    if user is None or not user.is_authenticated:
        if holder is None:
            raise NotFound("No account has this wallet linked: sign in with your email first, then link it.", code="wallet_unknown")
        return holder
    if holder is not None and holder.pk != user.pk:
        raise Conflict("This wallet is already linked to another account.", code="wallet_taken")
    if user.wallet_address != address:
        with transaction.atomic():
            user.wallet_address = address
            user.save(update_fields=["wallet_address"])
            wallet_linked.send(sender=User, user=user, address=address)
    return user
