"""Reads of the outbox: which emails are due, and an email rendered for a look without storing it."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from core.errors import ServiceError
from integrations.email import EmailTemplateMissing, RenderedEmail
from notifications.catalog import SAMPLE_CONTEXTS
from notifications.mailer import email_service
from notifications.models import OutboundEmail


def due_emails(*, now: datetime | None = None):
    """Queued emails whose next attempt is due (never tried, or their backoff has passed)."""
    now = now or timezone.now()
    return OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def outbox_status_counts() -> dict[str, int]:
    """How many emails are in each status (every status named, zero included), for the admin and `email status`."""
    counts = dict(OutboundEmail.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {value: counts.get(value, 0) for value in OutboundEmail.Status.values}


def oldest_queued_email() -> OutboundEmail | None:
    """The email that has waited longest to be sent, if any waits."""
    return OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).order_by("created_at", "id").first()


def email_preview(*, template: str, context: dict | None = None) -> RenderedEmail:
    """Render `template` with `context` or its sample context, without storing anything."""
    try:
        return email_service().render(template, context if context is not None else SAMPLE_CONTEXTS.get(template, {}))
    except EmailTemplateMissing as error:
        raise ServiceError(f"{error}. Known emails: {', '.join(sorted(SAMPLE_CONTEXTS))}.", code="unknown_template") from None
