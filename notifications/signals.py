"""Dispatch only: queue the send task for outbox rows once their transaction commits."""

from core.jobs import DEFAULT_QUEUE, enqueue_on_commit

SEND_TASK = "notifications.tasks.outbound_email_send"


def send_on_commit(email_ids) -> None:
    """After commit, one `outbound_email_send` task per row (each drains what is due, so most find
    their row already sent by the first). Nothing is queued if the transaction rolls back."""
    for email_id in email_ids:
        enqueue_on_commit(SEND_TASK, email_id, queue=DEFAULT_QUEUE)
