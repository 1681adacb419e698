"""Dispatch only: queue the send task for outbox rows once their transaction commits."""

from django.db import transaction
from django_q.tasks import async_task


def send_on_commit(email_ids) -> None:
    """After commit, one `outbound_email_send` task per row (each drains what is due, so most find
    their row already sent by the first). Nothing is queued if the transaction rolls back."""
    for email_id in email_ids:
        transaction.on_commit(lambda email_id=email_id: async_task("notifications.tasks.outbound_email_send", email_id))
