"""The emails of domain events: welcome and verification, video ready or failed, payments, streams,
and the corrections when a reorg takes a payment or stream back.

Each `<what>_email(s)_queue` renders and stores its rows through `outbound_email_queue` in the
caller's transaction and returns the rows it created; the caller (a receiver, an endpoint) queues
their send on commit. An outbox key names the event, so the same event never makes a second email.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from hashlib import sha256

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from notifications.models import OutboundEmail
from notifications.services import outbound_email_queue

def format_time(value) -> str:
    """A timestamp for people: `2026-11-27 10:00 UTC` (accepts datetimes and unix seconds)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=dt_timezone.utc)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)
    return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _name(user) -> str:
    return (getattr(user, "display_name", "") or getattr(user, "first_name", "") or "").strip()


def video_url(video) -> str:
    return settings.SITE_URL + reverse("watch", args=[video.pk])


def _queue_new(**email) -> list[OutboundEmail]:
    """Queue one email: `[row]` when this call created it, `[]` when its key was already queued."""
    row, created = outbound_email_queue(**email)
    return [row] if created else []


def _verification_context(user) -> dict:
    """What the welcome and verify_email templates show: a signed, expiring verification link."""
    from accounts.services import email_verification_url

    return {
        "name": _name(user),
        "email": user.email,
        "verify_url": email_verification_url(user=user),
        "verify_expires_hours": settings.EMAIL_VERIFICATION_MAX_AGE // 3600,
    }


def welcome_email_queue(*, user) -> list[OutboundEmail]:
    """The welcome email with a signed, expiring verification link."""
    return _queue_new(
        template="welcome",
        recipient=user.email,
        context=_verification_context(user),
        idempotency_key=f"welcome:{user.pk}",
    )


def verification_email_queue(*, user) -> list[OutboundEmail]:
    """A new verification link for `user` (an unverified, active account: accounts checked), at most one per hour."""
    hour = int(timezone.now().timestamp()) // 3600
    return _queue_new(
        template="verify_email",
        recipient=user.email,
        context=_verification_context(user),
        idempotency_key=f"verify-email:{user.pk}:{hour}",
    )


def video_ready_email_queue(*, video) -> list[OutboundEmail]:
    from core.text import duration_text

    owner = video.owner
    duration = duration_text(video.duration)
    return _queue_new(
        template="video_ready",
        recipient=owner.email,
        context={"name": _name(owner), "video_title": video.title, "video_url": video_url(video), "duration": duration},
        idempotency_key=f"video-ready:{video.pk}",
    )


def video_failed_email_queue(*, video, error: str) -> list[OutboundEmail]:
    owner = video.owner
    # The same failure reported twice is one email; a later, different failure is another.
    error_digest = sha256(str(error).encode()).hexdigest()[:16]
    return _queue_new(
        template="video_failed",
        recipient=owner.email,
        context={"name": _name(owner), "video_title": video.title, "video_url": video_url(video), "error": str(error)},
        idempotency_key=f"video-failed:{video.pk}:{error_digest}",
    )


def token_amount_text(*, amount: int, token_address: str) -> str:
    """`3 FLOW`: an amount in the token's own units with its symbol (the paywall's and admin's formatter)."""
    from payments.tokens import token_amount_format, token_meta_get

    return token_amount_format(amount=int(amount), meta=token_meta_get(token_address=token_address))


def chain_email_key(kind: str, *, event_key: str, user) -> str:
    """The outbox key of one email about one chain event to one user: `payment-confirmed:<event>:<user>`."""
    return f"{kind}:{event_key}:{user.pk}"


def payment_confirmed_emails_queue(*, payment) -> list[OutboundEmail]:
    """One confirmation to each linked user (payer as "sender", payee as "recipient")."""
    created_rows = []
    amount = token_amount_text(amount=payment.amount, token_address=payment.token_address)
    for role, user in (("sender", payment.from_user), ("recipient", payment.to_user)):
        if user is None or not getattr(user, "email", ""):
            continue
        email, created = outbound_email_queue(
            template="payment_confirmed",
            recipient=user.email,
            context={
                "name": _name(user),
                "role": role,
                "chain_id": payment.chain_id,
                "amount": amount,
                "amount_base_units": str(int(payment.amount)),
                "token_address": payment.token_address,
                "from_address": payment.from_address,
                "to_address": payment.to_address,
                "tx_hash": payment.tx_hash,
            },
            idempotency_key=chain_email_key("payment-confirmed", event_key=payment.event_key, user=user),
            event_key=payment.event_key,
        )
        if created:
            created_rows.append(email)
    return created_rows


def _stream_context(stream) -> dict:
    return {
        "chain_id": stream.chain_id,
        "stream_id": stream.stream_id,
        "contract_address": stream.contract_address,
        "tx_hash": stream.tx_hash,
        "sender": stream.sender,
        "recipient": stream.recipient,
        "token_address": stream.token_address,
        "deposit": token_amount_text(amount=stream.deposit, token_address=stream.token_address),
        "rate_per_second": token_amount_text(amount=stream.rate_per_second, token_address=stream.token_address),
        "start_time": format_time(stream.start_time),
        "stop_time": format_time(stream.stop_time),
        "cancelled_at": format_time(getattr(stream, "cancelled_at", None)),
        "cancel_tx_hash": getattr(stream, "cancel_tx_hash", ""),
    }


def stream_emails_queue(*, stream, event: str) -> list[OutboundEmail]:
    """`event` is "started" or "cancelled": one email each to the linked sender and recipient."""
    if event not in ("started", "cancelled"):
        raise ValueError(f"unknown stream event {event!r}")
    event_key = stream.creation_event_key if event == "started" else stream.cancel_event_key
    context = _stream_context(stream)
    created_rows = []
    for role, user in (("sender", stream.sender_user), ("recipient", stream.recipient_user)):
        if user is None or not getattr(user, "email", ""):
            continue
        email, created = outbound_email_queue(
            template=f"stream_{event}",
            recipient=user.email,
            context={"name": _name(user), "role": role, **context},
            idempotency_key=chain_email_key(f"stream-{event}", event_key=event_key, user=user),
            event_key=event_key,
        )
        if created:
            created_rows.append(email)
    return created_rows


# Reorgs: what the chain took back ---------------------------------------------

REVERSED_REASON = "Not sent: reversed by the chain (a reorg orphaned the event this email is about) before it went out."


def _chain_event_emails_retract(*, event_keys: list[str], context: dict) -> list[OutboundEmail]:
    """Cancel the emails about these orphaned events that have not gone out; queue one correction
    (`chain_event_reversed` with `context`) to each person one of them may have reached.

    Cancelling is one conditional UPDATE from `queued` (or `failed`, so an operator's retry cannot
    send it later): a sender claims rows by the same kind of UPDATE from `queued`, so each row is
    either cancelled or being sent, never both. A row being sent may have arrived: it is corrected.
    """
    event_keys = [key for key in event_keys if key]
    rows = OutboundEmail.objects.filter(event_key__in=event_keys)
    rows.filter(status=OutboundEmail.Status.QUEUED).update(
        status=OutboundEmail.Status.CANCELLED, last_error=REVERSED_REASON, next_attempt_at=None
    )
    rows.filter(status=OutboundEmail.Status.FAILED).update(
        status=OutboundEmail.Status.CANCELLED, next_attempt_at=None,
        last_error=Concat(Value(REVERSED_REASON + " Before that it had failed: "), F("last_error")),
    )
    told = rows.filter(status__in=[OutboundEmail.Status.SENDING, OutboundEmail.Status.SENT]).order_by("created_at", "id")
    corrections = []
    seen: set[str] = set()
    for row in told:
        if row.recipient in seen:
            continue  # one correction per person, whatever else they were told about the same event
        seen.add(row.recipient)
        email, created = outbound_email_queue(
            template="chain_event_reversed",
            recipient=row.recipient,
            context={**context, "name": row.context.get("name", ""), "role": row.context.get("role", "")},
            # Named after the first email that reached them: a repeated signal finds this row again.
            idempotency_key=f"reversed:{row.idempotency_key}",
        )
        if created:
            corrections.append(email)
    return corrections


def payment_orphaned_emails_queue(*, payment) -> list[OutboundEmail]:
    """A reorg orphaned a confirmed payment: cancel its unsent emails, correct the sent ones once."""
    return _chain_event_emails_retract(event_keys=[payment.event_key], context={
        "what": "payment",
        "chain_id": payment.chain_id,
        "amount": token_amount_text(amount=payment.amount, token_address=payment.token_address),
        "tx_hash": payment.tx_hash,
        "from_address": payment.from_address,
        "to_address": payment.to_address,
    })


def stream_orphaned_emails_queue(*, stream) -> list[OutboundEmail]:
    """A reorg removed a confirmed stream: its start (and cancel) emails are cancelled or corrected."""
    return _chain_event_emails_retract(event_keys=[stream.creation_event_key, stream.cancel_event_key],
                                       context={"what": "stream", **_stream_context(stream)})


def stream_cancel_orphaned_emails_queue(*, stream) -> list[OutboundEmail]:
    """A reorg undid a confirmed cancel: the stream runs again; its cancel emails are cancelled or corrected."""
    return _chain_event_emails_retract(event_keys=[stream.cancel_event_key],
                                       context={"what": "stream_cancel", **_stream_context(stream)})


# The operator's test email ------------------------------------------------------


def outbound_email_send_test(*, recipient: str) -> OutboundEmail:
    """Store the `test` email to `recipient` (each call is a new email); the caller sends it (`email send-test`
    sends it at once, to report the server's answer)."""
    now = timezone.now()
    with transaction.atomic():
        email, _ = outbound_email_queue(template="test", recipient=recipient, context={"queued_at": format_time(now)},
                                        idempotency_key=f"test:{recipient}:{now.isoformat()}")
    return email
