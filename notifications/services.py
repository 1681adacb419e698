"""The outbox: queue emails with the event that caused them, send each once.

Delivery, and its one unavoidable window
-----------------------------------------
A row moves queued → sending in one conditional UPDATE (`core.jobs.claim`), so
two workers that drain at once never both send it. It becomes `sent` right after
the server's 250 reply. Transient failures (no connection, timeouts, 4xx replies)
are retried with tenacity inside the attempt, then the row goes back to `queued`
with a growing `next_attempt_at`; 5xx replies fail it at once, keeping the
server's words in `last_error`.

If a worker dies between the server's 250 and the UPDATE to `sent` (a window of
one local database write), SMTP gives no way to ask the server whether it has the
message. The row stays `sending`; the sweeper requeues it once its heartbeat is
older than `EMAIL_SENDING_STALE_AFTER` and it is sent again *with the same
Message-ID* (fixed when the row was created), which is what receiving systems use
to recognise a duplicate. That is the at-least-once window, closed as far as
SMTP allows; every other path sends exactly once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from hashlib import sha256

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from core.errors import ServiceError
from core.jobs import claim, heartbeat, stale
from integrations.email import (
    EmailService,
    EmailTemplateMissing,
    RenderedEmail,
    is_transient_smtp_error,
    smtp_error_message,
)
from integrations.retry import transient_retry
from notifications.catalog import SAMPLE_CONTEXTS
from notifications.models import OutboundEmail
from notifications.signals import send_on_commit

logger = logging.getLogger(__name__)


def email_service() -> EmailService:
    """The EmailService configured from settings (EMAIL_* variables)."""
    return EmailService(
        default_from=settings.DEFAULT_FROM_EMAIL,
        site_url=settings.SITE_URL,
        backend=settings.EMAIL_BACKEND,
        host=settings.EMAIL_HOST,
        port=settings.EMAIL_PORT,
        username=settings.EMAIL_HOST_USER,
        password=settings.EMAIL_HOST_PASSWORD,
        use_tls=settings.EMAIL_USE_TLS,
        use_ssl=settings.EMAIL_USE_SSL,
        timeout=settings.EMAIL_TIMEOUT,
    )


# Queueing --------------------------------------------------------------------


def outbound_email_queue(
    *, template: str, recipient: str, context: dict, idempotency_key: str, event_key: str = "",
    service: EmailService | None = None,
) -> tuple[OutboundEmail, bool]:
    """Render and store one email in the caller's transaction; `(row, created)`.

    The same `idempotency_key` again returns the existing row, so a repeated signal
    never makes a second email. The caller queues the send task on commit when created.
    `event_key` names the chain event the email is about, so a reorg can cancel or correct it.
    """
    existing = OutboundEmail.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    service = service or email_service()
    fields = {"status": OutboundEmail.Status.QUEUED}
    try:
        rendered = service.render(template, context)
        subject = rendered.subject if len(rendered.subject) <= 255 else rendered.subject[:254] + "…"
        fields.update(subject=subject, body_text=rendered.text, body_html=rendered.html)
    except Exception as error:  # a template bug must not undo the signup or payment that caused the email
        logger.exception("could not render email %r for %s", template, idempotency_key)
        fields.update(status=OutboundEmail.Status.FAILED, subject=f"({template}: not rendered)",
                      last_error=f"Could not render the template: {type(error).__name__}: {error}")
    try:
        # A savepoint: a concurrent insert of the same key must not break the caller's transaction.
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                recipient=recipient,
                template=template,
                context=context,
                idempotency_key=idempotency_key,
                event_key=event_key,
                message_id=service.new_message_id(),
                **fields,
            )
    except IntegrityError:
        return OutboundEmail.objects.get(idempotency_key=idempotency_key), False
    return email, True


# Sending ---------------------------------------------------------------------


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DrainReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.deferred += other.deferred
        self.skipped += other.skipped
        self.errors += other.errors

    def __str__(self):
        return f"sent {self.sent}, failed {self.failed}, deferred {self.deferred}, skipped {self.skipped}"


def due_emails(*, now: datetime | None = None):
    now = now or timezone.now()
    return OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def outbound_email_drain(
    *, first_id: int | None = None, limit: int | None = None, service: EmailService | None = None
) -> DrainReport:
    """Send due queued emails over one SMTP connection (`first_id` first); never sends a row twice.

    Each row is claimed (queued → sending) before it is sent, so several drains may
    run at once. When the server cannot be reached the drain stops and leaves the
    remaining rows queued for the sweeper.
    """
    service = service or email_service()
    limit = limit or settings.EMAIL_BATCH_SIZE
    ids = list(due_emails().order_by("created_at", "id").values_list("id", flat=True)[:limit])
    if first_id is not None and first_id in ids:
        ids.remove(first_id)
        ids.insert(0, first_id)
    report = DrainReport()
    sender = _BatchSender(service)
    # Stop well inside the task timeout (Q_TIMEOUT): a worker killed by django-q mid-send would
    # leave a row for the sweeper; the rest of the batch simply waits for the next drain.
    deadline = time.monotonic() + settings.EMAIL_DRAIN_TIME_BUDGET
    try:
        for email_id in ids:
            if time.monotonic() > deadline and (report.sent or report.failed or report.deferred):
                break
            if not claim(OutboundEmail.objects.all(), pk=email_id, field="status",
                         from_values=[OutboundEmail.Status.QUEUED], to_value=OutboundEmail.Status.SENDING):
                report.skipped += 1  # another worker has it, or it was sent meanwhile
                continue
            email = OutboundEmail.objects.get(pk=email_id)
            try:
                sender.send(email)
            except Exception as error:  # classified below; nothing escapes half-recorded
                outcome = _record_failure(email, error)
                setattr(report, outcome, getattr(report, outcome) + 1)
                report.errors.append(f"{email.recipient}: {smtp_error_message(error)}")
                if outcome == "deferred" and not sender.reachable:
                    break  # the server is down: the rest stay queued for the sweeper
                continue
            _record_sent(email)
            report.sent += 1
    finally:
        sender.close()
    if report.sent or report.failed or report.deferred:
        logger.info("outbox drain: %s", report)
    return report


def outbound_email_send(*, email_id: int) -> DrainReport:
    """Send one email (the task behind each queued row) and whatever else is due, over one connection."""
    return outbound_email_drain(first_id=email_id)


class _BatchSender:
    """One SMTP connection reused across a drain, reopened after an error."""

    def __init__(self, service: EmailService):
        self.service = service
        self.connection = None
        self.reachable = True

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # closing a broken session must not hide the real error
                pass
            self.connection = None

    def send(self, email: OutboundEmail) -> None:
        def before_retry(state):
            # A failed session may be in any state: start the next attempt on a fresh one.
            self.close()
            heartbeat(OutboundEmail.objects.all(), pk=email.pk, field="status", while_value=OutboundEmail.Status.SENDING)
            logger.info("retrying email %s after %s", email.pk, smtp_error_message(state.outcome.exception()))

        retrying = transient_retry(
            is_transient_smtp_error,
            attempts=settings.EMAIL_SEND_RETRIES,
            initial_wait=settings.EMAIL_RETRY_INITIAL_WAIT,
            max_wait=settings.EMAIL_RETRY_MAX_WAIT,
            on_retry=before_retry,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if self.connection is None:
                        self.reachable = False
                        self.connection = self.service.open_connection()
                        self.reachable = True
                    self.service.send(
                        to=email.recipient,
                        rendered=RenderedEmail(subject=email.subject, text=email.body_text, html=email.body_html),
                        message_id=email.message_id,
                        headers={"X-Flowcast-Email": email.template},
                        connection=self.connection,
                    )
        except Exception:
            self.close()
            raise


def _record_sent(email: OutboundEmail) -> None:
    # `queued` too: if the sweeper wrongly requeued a slow send, the row must still end sent.
    OutboundEmail.objects.filter(
        pk=email.pk, status__in=[OutboundEmail.Status.SENDING, OutboundEmail.Status.QUEUED]
    ).update(status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error="", next_attempt_at=None)


def _record_failure(email: OutboundEmail, error: BaseException) -> str:
    message = smtp_error_message(error)
    rows = OutboundEmail.objects.filter(pk=email.pk, status=OutboundEmail.Status.SENDING)
    if not is_transient_smtp_error(error):
        rows.update(status=OutboundEmail.Status.FAILED, last_error=message)
        logger.warning("email %s to %s failed permanently: %s", email.pk, email.recipient, message)
        return "failed"
    if email.attempts >= settings.EMAIL_MAX_ATTEMPTS:
        rows.update(status=OutboundEmail.Status.FAILED,
                    last_error=f"Gave up after {email.attempts} attempts; last error: {message}")
        return "failed"
    rows.update(status=OutboundEmail.Status.QUEUED, last_error=message, next_attempt_at=timezone.now() + retry_delay(email.attempts))
    return "deferred"


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next pass over a deferred row: doubles per attempt, capped."""
    base = settings.EMAIL_RETRY_BACKOFF
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.EMAIL_RETRY_BACKOFF_MAX))


# Sweeper and operator actions ------------------------------------------------


@dataclass
class SweepReport:
    requeued: int
    drain: DrainReport

    def __str__(self):
        return f"requeued {self.requeued} stuck in sending; {self.drain}"


def outbound_email_sweep(*, max_batches: int = 20) -> SweepReport:
    """Requeue rows whose sender stopped mid-send, then drain what is due (the scheduled task)."""
    stuck = stale(OutboundEmail.objects.all(), field="status", values=[OutboundEmail.Status.SENDING],
                  older_than=timedelta(seconds=settings.EMAIL_SENDING_STALE_AFTER))
    requeued = stuck.update(
        status=OutboundEmail.Status.QUEUED,
        next_attempt_at=None,
        last_error="The sender stopped during an attempt; sending again with the same Message-ID.",
    )
    total = DrainReport()
    for _ in range(max_batches):
        report = outbound_email_drain()
        total.add(report)
        if report.sent + report.failed == 0 or report.deferred:
            break  # nothing left, or the server is refusing for now
    return SweepReport(requeued=requeued, drain=total)


def outbound_email_resend(*, email_ids) -> tuple[list[int], int]:
    """Queue failed or sent emails again (an operator's decision); `(queued ids, skipped)`.

    A sent email gets a new Message-ID: it is a deliberate second message, not a retry.
    Rows queued, being sent or cancelled (the chain reversed what they were about) are left alone,
    and so are rows whose template still does not render.
    """
    queued: list[int] = []
    skipped = 0
    service = email_service()
    with transaction.atomic():
        for email in OutboundEmail.objects.select_for_update().filter(pk__in=list(email_ids)):
            if email.status not in (OutboundEmail.Status.FAILED, OutboundEmail.Status.SENT):
                skipped += 1
                continue
            updates = {"status": OutboundEmail.Status.QUEUED, "next_attempt_at": None, "attempts": 0, "last_error": ""}
            if email.status == OutboundEmail.Status.SENT:
                updates.update(message_id=service.new_message_id(), sent_at=None)
            if not email.body_html:
                # It never rendered (a template bug, since fixed?): render it now or leave it failed.
                try:
                    rendered = service.render(email.template, email.context)
                except Exception as error:
                    OutboundEmail.objects.filter(pk=email.pk).update(
                        last_error=f"Could not render the template: {type(error).__name__}: {error}")
                    skipped += 1
                    continue
                updates.update(subject=rendered.subject, body_text=rendered.text, body_html=rendered.html)
            if OutboundEmail.objects.filter(pk=email.pk, status=email.status).update(**updates):
                queued.append(email.pk)
        send_on_commit(queued)
    return queued, skipped


def outbound_email_retry_failed() -> list[int]:
    """Queue every failed email again (`manage.py email retry-failed`)."""
    ids = list(OutboundEmail.objects.filter(status=OutboundEmail.Status.FAILED).values_list("id", flat=True))
    queued, _ = outbound_email_resend(email_ids=ids)
    return queued


def outbound_email_mark_failed(*, email_ids, reason: str) -> tuple[int, int]:
    """Stop queued emails from being sent; `(marked, skipped)`. Rows mid-send, sent or failed are skipped."""
    ids = list(email_ids)
    marked = OutboundEmail.objects.filter(pk__in=ids, status=OutboundEmail.Status.QUEUED).update(
        status=OutboundEmail.Status.FAILED, last_error=reason, next_attempt_at=None
    )
    return marked, len(ids) - marked


def outbound_email_send_test(*, recipient: str) -> OutboundEmail:
    """Queue the `test` email to `recipient` (each call is a new email)."""
    now = timezone.now()
    email, _ = outbound_email_queue(
        template="test",
        recipient=recipient,
        context={"queued_at": format_time(now)},
        idempotency_key=f"test:{recipient}:{now.isoformat()}",
    )
    return email


def email_preview(*, template: str, context: dict | None = None) -> RenderedEmail:
    """Render `template` with `context` or its sample context, without storing anything."""
    try:
        return email_service().render(template, context if context is not None else SAMPLE_CONTEXTS.get(template, {}))
    except EmailTemplateMissing as error:
        raise ServiceError(f"{error}. Known emails: {', '.join(sorted(SAMPLE_CONTEXTS))}.", code="unknown_template") from None


# The emails of domain events -------------------------------------------------


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


def welcome_email_queue(*, user) -> list[OutboundEmail]:
    """The welcome email with a signed, expiring verification link."""
    from accounts.services import email_verification_url

    email, created = outbound_email_queue(
        template="welcome",
        recipient=user.email,
        context={
            "name": _name(user),
            "email": user.email,
            "verify_url": email_verification_url(user=user),
            "verify_expires_hours": settings.EMAIL_VERIFICATION_MAX_AGE // 3600,
        },
        idempotency_key=f"welcome:{user.pk}",
    )
    return [email] if created else []


def verification_email_queue(*, email_address: str) -> list[OutboundEmail]:
    """A new verification link for an unverified account, at most one per hour per account.

    Unknown or verified addresses queue nothing; the caller answers the same either way,
    so the endpoint does not reveal who has an account.
    """
    from accounts.models import User
    from accounts.services import email_verification_url

    try:
        validate_email(email_address.strip())
    except ValidationError:
        raise ServiceError("This is not an email address.", fields={"email": ["Enter a valid email address."]}) from None
    user = User.objects.filter(email__iexact=email_address.strip(), email_verified_at__isnull=True, is_active=True).first()
    if user is None:
        return []
    hour = int(timezone.now().timestamp()) // 3600
    email, created = outbound_email_queue(
        template="verify_email",
        recipient=user.email,
        context={
            "name": _name(user),
            "email": user.email,
            "verify_url": email_verification_url(user=user),
            "verify_expires_hours": settings.EMAIL_VERIFICATION_MAX_AGE // 3600,
        },
        idempotency_key=f"verify-email:{user.pk}:{hour}",
    )
    return [email] if created else []


def video_ready_email_queue(*, video) -> list[OutboundEmail]:
    from media_pipeline.services import duration_text

    owner = video.owner
    duration = duration_text(video.duration)
    email, created = outbound_email_queue(
        template="video_ready",
        recipient=owner.email,
        context={"name": _name(owner), "video_title": video.title, "video_url": video_url(video), "duration": duration},
        idempotency_key=f"video-ready:{video.pk}",
    )
    return [email] if created else []


def video_failed_email_queue(*, video, error: str) -> list[OutboundEmail]:
    owner = video.owner
    # The same failure reported twice is one email; a later, different failure is another.
    error_digest = sha256(str(error).encode()).hexdigest()[:16]
    email, created = outbound_email_queue(
        template="video_failed",
        recipient=owner.email,
        context={"name": _name(owner), "video_title": video.title, "video_url": video_url(video), "error": str(error)},
        idempotency_key=f"video-failed:{video.pk}:{error_digest}",
    )
    return [email] if created else []


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
