"""Auth endpoints of accounts, mounted at /api/auth."""

from datetime import datetime

from django.db import transaction
from ninja import Query, Router, Schema, Status
from ninja.throttling import AnonRateThrottle

from accounts.services import email_verify
from config.schemas import ErrorOut

router = Router(tags=["auth"])


class VerifyEmailIn(Schema):
    token: str


class EmailVerifiedOut(Schema):
    email: str
    email_verified_at: datetime


class VerificationResendIn(Schema):
    email: str


class AcceptedOut(Schema):
    message: str


@router.get("/verify-email", response={200: EmailVerifiedOut, 400: ErrorOut, 409: ErrorOut}, auth=None)
def verify_email(request, params: Query[VerifyEmailIn]):
    """Confirm an email address with the link from the welcome email (works once, expires)."""
    user = email_verify(token=params.token)
    return {"email": user.email, "email_verified_at": user.email_verified_at}


@router.post("/verify-email/resend", response={202: AcceptedOut, 400: ErrorOut, 422: ErrorOut, 429: ErrorOut}, auth=None,
             throttle=[AnonRateThrottle("10/h")])
def resend_verification_email(request, payload: VerificationResendIn):
    """Email a new verification link to an unverified account (at most one per hour per account).

    The answer is the same whether or not the address has an account.
    """
    from notifications.services import verification_email_queue
    from notifications.signals import send_on_commit

    with transaction.atomic():
        send_on_commit([email.pk for email in verification_email_queue(email_address=payload.email)])
    return Status(202, {"message": "If an unverified account uses this address, a new link is on its way."})
