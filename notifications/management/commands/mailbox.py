from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.mail_sink import read_mailbox


class Command(BaseCommand):
    help = "List the mail the local SMTP sink received, or show one message (`--show N`, 1 = newest)."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(settings.MAIL_SINK_DIR))
        parser.add_argument("--show", type=int, metavar="N", help="print message N of the list")
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args, dir, show, limit, **options):
        messages = list(read_mailbox(dir))
        if not messages:
            self.stdout.write(f"No mail in {dir} yet.")
            return
        if show is not None:
            if not 1 <= show <= len(messages):
                raise CommandError(f"--show takes 1..{len(messages)}; the mailbox holds {len(messages)} message(s).")
            path, message = messages[show - 1]
            self.stdout.write(f"File: {path}")
            for header in ("Date", "From", "To", "Subject"):
                self.stdout.write(f"{header}: {message[header]}")
            text = message.get_body(preferencelist=("plain", "html"))
            self.stdout.write("")
            self.stdout.write(text.get_content() if text else "(no text part)")
            return
        for number, (path, message) in enumerate(messages[:limit], start=1):
            self.stdout.write(f"{number:>3}  {message['Date']}  {message['To']}  {message['Subject']}")
        if len(messages) > limit:
            self.stdout.write(f"... and {len(messages) - limit} older; use --limit.")
