"""Signal receivers: write outbox rows in the sender's transaction, queue the send on commit.

Connected in `NotificationsConfig.ready()`. Nothing here sends mail inline.
"""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.signals import email_verification_requested
from media_pipeline.signals import video_failed, video_ready
from notifications import emails
from notifications.signals import send_on_commit
from payments.signals import (
    payment_confirmed,
    payment_orphaned,
    stream_cancel_orphaned,
    stream_cancelled,
    stream_created,
    stream_orphaned,
)


def _queued(emails) -> None:
    send_on_commit([email.pk for email in emails])


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="notifications.welcome")
def on_user_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:  # `raw`: loaddata restoring a user who already got the email
        _queued(emails.welcome_email_queue(user=instance))


@receiver(email_verification_requested, dispatch_uid="notifications.email_verification_requested")
def on_email_verification_requested(sender, user, **kwargs):
    _queued(emails.verification_email_queue(user=user))


@receiver(video_ready, dispatch_uid="notifications.video_ready")
def on_video_ready(sender, video, **kwargs):
    _queued(emails.video_ready_email_queue(video=video))


@receiver(video_failed, dispatch_uid="notifications.video_failed")
def on_video_failed(sender, video, error, **kwargs):
    _queued(emails.video_failed_email_queue(video=video, error=error))


@receiver(payment_confirmed, dispatch_uid="notifications.payment_confirmed")
def on_payment_confirmed(sender, payment, **kwargs):
    _queued(emails.payment_confirmed_emails_queue(payment=payment))


@receiver(stream_created, dispatch_uid="notifications.stream_created")
def on_stream_created(sender, stream, **kwargs):
    _queued(emails.stream_emails_queue(stream=stream, event="started"))


@receiver(stream_cancelled, dispatch_uid="notifications.stream_cancelled")
def on_stream_cancelled(sender, stream, **kwargs):
    _queued(emails.stream_emails_queue(stream=stream, event="cancelled"))


@receiver(payment_orphaned, dispatch_uid="notifications.payment_orphaned")
def on_payment_orphaned(sender, payment, **kwargs):
    _queued(emails.payment_orphaned_emails_queue(payment=payment))


@receiver(stream_orphaned, dispatch_uid="notifications.stream_orphaned")
def on_stream_orphaned(sender, stream, **kwargs):
    _queued(emails.stream_orphaned_emails_queue(stream=stream))


@receiver(stream_cancel_orphaned, dispatch_uid="notifications.stream_cancel_orphaned")
def on_stream_cancel_orphaned(sender, stream, **kwargs):
    _queued(emails.stream_cancel_orphaned_emails_queue(stream=stream))
