"""The outbox: queue emails with the event that caused them, send each once.

Delivery, and its one unavoidable window
-----------------------------------------
A drain moves its batch queued → sending in one transaction (`core.jobs.claim_batch`:
rows locked with SKIP LOCKED, one conditional UPDATE), so two workers that drain at once
never both send a row. It becomes `sent` right after
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
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.jobs import DEFAULT_QUEUE, SweepCounts, claim_batch, heartbeat, retry_delay, sweep_stale
from integrations.email import EmailService, RenderedEmail, is_transient_smtp_error, smtp_error_message
from integrations.retry import transient_retry
from notifications.mailer import email_service
from notifications.models import OutboundEmail
from notifications.selectors import due_emails
from notifications.signals import SEND_TASK, send_on_commit

logger = logging.getLogger(__name__)


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


def outbound_email_drain(
    *, first_id: int | None = None, limit: int | None = None, service: EmailService | None = None
) -> DrainReport:
    """Send due queued emails over one SMTP connection (`first_id` first); never sends a row twice.

    The batch is claimed (queued → sending) in one transaction before anything is sent, so
    several drains may run at once on disjoint rows. When the server cannot be reached, or the
    time budget is spent, the drain stops and puts the rows it has not tried back to queued.
    """
    service = service or email_service()
    limit = limit or settings.EMAIL_BATCH_SIZE
    # One transaction claims the whole batch (queued → sending, an attempt counted, heartbeat stamped)
    # and one query loads it: concurrent drains take disjoint rows.
    ids = claim_batch(due_emails(), field="status", from_values=[OutboundEmail.Status.QUEUED],
                      to_value=OutboundEmail.Status.SENDING, limit=limit, first_pk=first_id,
                      order_by=("created_at", "id"))
    by_id = OutboundEmail.objects.in_bulk(ids)
    batch = [by_id[email_id] for email_id in ids]
    report = DrainReport()
    sender = _BatchSender(service)
    # Stop well inside the task timeout (Q_TIMEOUT): a worker killed by django-q mid-send would
    # leave a row for the sweeper; the rest of the batch simply waits for the next drain.
    deadline = time.monotonic() + settings.EMAIL_DRAIN_TIME_BUDGET
    beat_every = settings.EMAIL_SENDING_STALE_AFTER / 3
    next_beat = time.monotonic() + beat_every
    done = 0
    try:
        for email in batch:
            now = time.monotonic()
            if now > deadline and (report.sent or report.failed or report.deferred):
                break
            if now > next_beat:  # the rows still waiting in this batch are held, not lost
                _heartbeat_rows(batch[done:])
                next_beat = now + beat_every
            done += 1
            try:
                sender.send(email)
            except Exception as error:  # classified below; nothing escapes half-recorded
                outcome = _record_failure(email, error)
                setattr(report, outcome, getattr(report, outcome) + 1)
                report.errors.append(f"{email.recipient}: {smtp_error_message(error)}")
                if outcome == "deferred" and not sender.reachable:
                    break  # the server is down: the rest go back to queued for the sweeper
                continue
            # Marked one by one, right after its 250: a drain killed mid-batch leaves no accepted
            # message unmarked except the one in flight (the documented window, same Message-ID).
            _record_sent(email)
            report.sent += 1
    finally:
        sender.close()
        _release_untried(batch[done:])
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
        self._prepared: dict[tuple, object] = {}  # identical rendered emails are flattened once

    def _prepared_message(self, email: OutboundEmail):
        key = (email.template, email.subject, email.body_text, email.body_html)
        if key not in self._prepared:
            if len(self._prepared) >= 16:
                self._prepared.clear()
            self._prepared[key] = self.service.prepare(
                rendered=RenderedEmail(subject=email.subject, text=email.body_text, html=email.body_html),
                headers={"X-Flowcast-Email": email.template})
        return self._prepared[key]

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
                    if self.service.can_send_prepared(self.connection):
                        self.service.send_prepared(to=email.recipient, message_id=email.message_id,
                                                   prepared=self._prepared_message(email), connection=self.connection)
                    else:
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


def _heartbeat_rows(emails) -> None:
    OutboundEmail.objects.filter(pk__in=[e.pk for e in emails], status=OutboundEmail.Status.SENDING).update(
        heartbeat_at=timezone.now())


def _release_untried(emails) -> None:
    """Claimed but never tried (the drain stopped early): back to queued, the claim's attempt given back."""
    if emails:
        OutboundEmail.objects.filter(pk__in=[e.pk for e in emails], status=OutboundEmail.Status.SENDING).update(
            status=OutboundEmail.Status.QUEUED, attempts=F("attempts") - 1, heartbeat_at=None)


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
    delay = retry_delay(email.attempts, base_seconds=settings.EMAIL_RETRY_BACKOFF,
                        max_seconds=settings.EMAIL_RETRY_BACKOFF_MAX)
    rows.update(status=OutboundEmail.Status.QUEUED, last_error=message, next_attempt_at=timezone.now() + delay)
    return "deferred"


# Sweeper and operator actions ------------------------------------------------


@dataclass
class SweepReport:
    swept: SweepCounts
    drain: DrainReport

    @property
    def requeued(self) -> int:
        return self.swept.requeued

    def __str__(self):
        return f"{self.swept}; {self.drain}"


STOPPED_MID_SEND = "The sender stopped during an attempt; sending again with the same Message-ID."


def outbound_email_sweep(*, max_batches: int = 20) -> SweepReport:
    """Requeue rows whose sender stopped mid-send, then drain what is due (the scheduled task).

    The lease is `EMAIL_SENDING_STALE_AFTER`: a `sending` row whose heartbeat is older lost its
    worker and goes back to `queued`, keeping its Message-ID (see the module docstring); a due
    `queued` row nobody picked up has its send task queued again. Rows not yet due are left alone."""
    due_or_sending = due_emails() | OutboundEmail.objects.filter(status=OutboundEmail.Status.SENDING)
    swept = sweep_stale(
        due_or_sending, task=SEND_TASK, queue=DEFAULT_QUEUE, field="status",
        running=OutboundEmail.Status.SENDING, waiting=OutboundEmail.Status.QUEUED,
        lease=timedelta(seconds=settings.EMAIL_SENDING_STALE_AFTER),
        requeue_fields={"next_attempt_at": None, "last_error": STOPPED_MID_SEND},
    )
    total = DrainReport()
    for _ in range(max_batches):
        report = outbound_email_drain()
        total.add(report)
        if report.sent + report.failed == 0 or report.deferred:
            break  # nothing left, or the server is refusing for now
    return SweepReport(swept=swept, drain=total)


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
