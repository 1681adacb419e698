"""Auth endpoints of accounts, mounted at /api/auth."""

from datetime import datetime

from ninja import Query, Router, Schema

from accounts.services import email_verify
from config.schemas import ErrorOut

router = Router(tags=["auth"])


class VerifyEmailIn(Schema):
    token: str


class EmailVerifiedOut(Schema):
    email: str
    email_verified_at: datetime


@router.get("/verify-email", response={200: EmailVerifiedOut, 400: ErrorOut, 409: ErrorOut}, auth=None)
def verify_email(request, params: Query[VerifyEmailIn]):
    """Confirm an email address with the link from the welcome email (works once, expires)."""
    user = email_verify(token=params.token)
    return {"email": user.email, "email_verified_at": user.email_verified_at}
