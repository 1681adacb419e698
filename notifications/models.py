from django.db import models


class OutboundEmail(models.Model):
    """One email in the outbox: rendered when queued, sent at most once.

    The row is written in the same transaction as the event that caused it; the send
    task only carries its id. `idempotency_key` names the event (e.g.
    `welcome:42`), so a repeated signal finds the row instead of making a second
    email. `message_id` is fixed when the row is created and reused for every
    attempt, so a resend after a crash carries the same Message-ID.

    An email about something on chain carries that event's `event_key` (`chain_event_key`):
    when a reorg orphans the event, its rows not yet sent become `cancelled` (never sent) and
    the people a row may already have reached get one correction.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    recipient = models.EmailField(max_length=254)
    template = models.CharField(max_length=60, db_index=True, help_text="folder under templates/emails/")
    context = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField()
    idempotency_key = models.CharField(max_length=255, unique=True)
    message_id = models.CharField(max_length=255, unique=True, help_text="Message-ID header, the same on every attempt")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    event_key = models.CharField(max_length=255, blank=True, db_index=True,
                                 help_text="the chain event this email is about (chain id:contract:tx:log index:block hash)")
    attempts = models.PositiveIntegerField(default=0, help_text="send attempts (each may retry transient errors)")
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="not sent again before this time")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "outbound email"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notif_email_due"),
            models.Index(fields=["recipient"], name="notif_email_recipient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="notif_email_sent_has_sent_at",
            ),
            # A failed email always says why (the server's reply, a render error, who stopped it).
            models.CheckConstraint(
                condition=~models.Q(status="failed") | ~models.Q(last_error=""),
                name="notif_email_failed_has_reason",
            ),
            # So does a cancelled one (e.g. "the chain reversed this payment before the email went out").
            models.CheckConstraint(
                condition=~models.Q(status="cancelled") | ~models.Q(last_error=""),
                name="notif_email_cancelled_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.template} to {self.recipient} ({self.status})"
