from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.utils import timezone

from core.errors import ServiceError
from notifications import emails, selectors, services
from notifications.catalog import TEMPLATE_NAMES
from notifications.models import OutboundEmail


class Command(BaseCommand):
    help = "Outbox operations: send-test <address>, retry-failed, preview <template>, drain, status."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        send_test = actions.add_parser("send-test", help="send the test email to ADDRESS now, through the outbox")
        send_test.add_argument("address")
        retry = actions.add_parser("retry-failed", help="queue every failed email again and send what is due")
        retry.add_argument("--queue-only", action="store_true", help="only queue them; the workers send them")
        preview = actions.add_parser("preview", help=f"render a template with sample data ({', '.join(TEMPLATE_NAMES)})")
        preview.add_argument("template")
        preview.add_argument("--html", action="store_true", help="print the HTML part instead of the text part")
        actions.add_parser("drain", help="send every due queued email now, batch by batch, over one connection each")
        actions.add_parser("status", help="how many emails are queued, sending, sent and failed")

    def handle(self, *args, action, **options):
        try:
            getattr(self, "handle_" + action.replace("-", "_"))(**options)
        except ServiceError as error:
            raise CommandError(error.message) from None

    def handle_send_test(self, *, address, **options):
        try:
            validate_email(address)
        except ValidationError:
            raise CommandError(f"{address!r} is not an email address.") from None
        email = emails.outbound_email_send_test(recipient=address)
        self.stdout.write(f"Queued test email #{email.pk} to {address}; sending ...")
        report = services.outbound_email_send(email_id=email.pk)
        email.refresh_from_db()
        if email.status == OutboundEmail.Status.SENT:
            self.stdout.write(self.style.SUCCESS(f"Sent (Message-ID {email.message_id})."))
        elif email.status == OutboundEmail.Status.FAILED:
            raise CommandError(f"The server refused it: {email.last_error}")
        else:
            raise CommandError(
                f"Not sent yet ({email.status}): {email.last_error or report}. The outbox will retry it; "
                "check EMAIL_HOST/EMAIL_PORT and that the SMTP server is up."
            )

    def handle_retry_failed(self, *, queue_only, **options):
        queued = services.outbound_email_retry_failed()
        if not queued:
            self.stdout.write("No failed emails.")
            return
        self.stdout.write(f"Queued {len(queued)} failed email(s) again.")
        if not queue_only:
            self._drain(total=len(queued))

    def handle_preview(self, *, template, html, **options):
        rendered = selectors.email_preview(template=template)
        self.stdout.write(f"Subject: {rendered.subject}\n")
        self.stdout.write(rendered.html if html else rendered.text)

    def handle_drain(self, **options):
        self._drain(total=selectors.due_emails().count())

    def handle_status(self, **options):
        counts = selectors.outbox_status_counts()
        for value, label in OutboundEmail.Status.choices:
            self.stdout.write(f"{label:>8}: {counts[value]}")
        oldest = selectors.oldest_queued_email()
        if oldest is not None:
            waiting = timezone.now() - oldest.created_at
            self.stdout.write(f"Oldest queued email waits since {oldest.created_at:%Y-%m-%d %H:%M:%S} UTC "
                              f"({int(waiting.total_seconds())} s); last error: {oldest.last_error or 'none'}")

    def _drain(self, *, total: int) -> None:
        done = 0
        while True:
            report = services.outbound_email_drain()
            done += report.sent + report.failed
            self.stdout.write(f"  {done}/{total}: {report}")
            for error in report.errors[:5]:
                self.stdout.write(f"    {error}")
            if report.deferred or report.sent + report.failed == 0:
                break
        left = selectors.due_emails().count()
        if left:
            self.stdout.write(self.style.WARNING(f"{left} email(s) still queued; the sweeper retries them."))
        else:
            self.stdout.write(self.style.SUCCESS("Nothing left to send."))
