"""Sign-In with Ethereum (mounted at /api/auth/siwe): a nonce for this session, then the signed
EIP-4361 message. Signs the wallet's account in, or links the wallet to the signed-in user."""

from __future__ import annotations

from django.contrib.auth import login
from ninja import Router, Schema
from ninja.throttling import AnonRateThrottle, UserRateThrottle

from config.schemas import ErrorOut
from payments import services

siwe_router = Router(tags=["auth"], auth=None)
# Nonces are rows: a client asking in a loop is slowed down instead of filling the table.
NONCE_THROTTLE = [AnonRateThrottle("30/m"), UserRateThrottle("30/m")]


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


@siwe_router.get("/nonce", response=NonceOut, throttle=NONCE_THROTTLE)
def siwe_nonce(request):
    """A single-use nonce (10 minutes) bound to this browser session, and the fields to sign."""
    from django.conf import settings

    from accounts.siwe import site_origin

    if not request.session.session_key:
        request.session.save()
    nonce = services.siwe_nonce_issue(session_key=request.session.session_key)
    site = site_origin(settings.SITE_URL)
    return {"nonce": nonce.nonce, "expires_at": nonce.expires_at.isoformat(), "domain": site.domain,
            "uri": site.origin, "chain_id": settings.CHAIN_ID}


@siwe_router.post("/verify", response={200: SignedInOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut})
def siwe_verify(request, payload: VerifyIn):
    """Check the signed message; sign in (or link the wallet to the signed-in user)."""
    signed_in = request.user if request.user.is_authenticated else None
    user = services.siwe_verify(
        message=payload.message, signature=payload.signature, user=signed_in, session_key=request.session.session_key or ""
    )
    if signed_in is None:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return {"user_id": user.pk, "email": user.email, "wallet_address": user.wallet_address, "linked": signed_in is not None}
