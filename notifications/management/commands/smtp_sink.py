import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from integrations.mail_sink import RecordingHandler, start_smtp_server


class Command(BaseCommand):
    help = "Run a local SMTP server that stores every message it receives (see `manage.py mailbox`)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.EMAIL_PORT)
        parser.add_argument("--dir", default=str(settings.MAIL_SINK_DIR), help="where to store .eml files")

    def handle(self, *args, host, port, dir, **options):
        handler = RecordingHandler(directory=dir)
        controller = start_smtp_server(handler, host=host, port=port)
        self.stdout.write(f"SMTP sink on {host}:{port}, storing mail in {dir}", ending="\n")
        self.stdout.flush()
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            controller.stop()
