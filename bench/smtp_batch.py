"""Batch sending: 200 emails over one SMTP connection vs one connection per email.

Both runs send the same rendered emails through `EmailService` to the same local
aiosmtpd server, running in its own process (a mail server never shares the sender's
interpreter), interleaved round by round in the same run. Two servers are measured:

- plain SMTP on 127.0.0.1 (the `make run` sink): a new session costs only a TCP
  connect, the greeting, EHLO and QUIT, about as many round trips as one message;
- STARTTLS + AUTH PLAIN (what a real submission server on port 587 asks for; a
  self-signed certificate made with `openssl` for this run): a new session also
  costs a TLS handshake and a login.

Prints each time (median of the rounds), checks the server counted every message
and the expected number of sessions, and prints the ratio. Target: ≥ 5×.

    .venv/bin/python bench/smtp_batch.py [--emails 200] [--rounds 3]

Measured on the shared 2-core dev machine (2026-11-26, several runs): plain 1.2-1.9x,
STARTTLS + AUTH 3.0-5.2x (median run ~3.5x); the 5x target is not reliably reached. Why: smtplib spends four round
trips per message (MAIL, RCPT, DATA, end of data) and a new plain session adds only about
three (greeting, EHLO, QUIT), so on loopback without TLS the ratio is bounded near 2x.
The saving grows with what a session costs: a TLS handshake and a login, and the
network latency of a real server (each round trip saved is worth more there).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("LOG_LEVEL", "ERROR")

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

from integrations.email import EmailService  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

from integrations.localnet import free_port  # noqa: E402
from notifications.catalog import SAMPLE_CONTEXTS  # noqa: E402

TARGET = 5.0


def one_connection(service: EmailService, emails) -> None:
    connection = service.open_connection()
    try:
        for recipient, rendered, message_id in emails:
            service.send(to=recipient, rendered=rendered, message_id=message_id, connection=connection)
    finally:
        connection.close()


def connection_per_email(service: EmailService, emails) -> None:
    for recipient, rendered, message_id in emails:
        service.send(to=recipient, rendered=rendered, message_id=message_id)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def accept_bench_user(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=auth_data.login == b"bench" and auth_data.password == b"bench-password")


class CountingHandler:
    """Counts messages and EHLOs in shared memory, so the server can live in its own process."""

    def __init__(self, messages, sessions):
        self.messages = messages
        self.sessions = sessions

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.sessions.get_lock():
            self.sessions.value += 1
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.messages.get_lock():
            self.messages.value += 1
        return "250 Message accepted for delivery"


def serve(port, tls_files, messages, sessions, ready, stop):
    """The SMTP server process: a real mail server never shares the sender's interpreter (or its GIL)."""
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    options = {}
    if tls_files:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls_files)
        options = {"tls_context": context, "require_starttls": True, "authenticator": accept_bench_user,
                   "auth_require_tls": True}
    controller = Controller(CountingHandler(messages, sessions), hostname="127.0.0.1", port=port, ready_timeout=10,
                            **options)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def measure(label: str, *, emails: int, rounds: int, tls_folder: Path | None) -> float:
    tls_files = None
    if tls_folder is not None:
        cert, key = self_signed_certificate(tls_folder)
        tls_files = (str(cert), str(key))
        # The client trusts this run's certificate through the default verify paths.
        os.environ["SSL_CERT_FILE"] = str(cert)
    port = free_port()
    messages, sessions = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, tls_files, messages, sessions, ready, stop))
    server.start()
    try:
        if not ready.wait(timeout=20):
            raise SystemExit("the SMTP server process did not start")
        service = EmailService(
            default_from="Flowcast <noreply@flowcast.localhost>", site_url="http://127.0.0.1:8000",
            host="127.0.0.1", port=port, timeout=10,
            use_tls=tls_folder is not None,
            username="bench" if tls_folder else "", password="bench-password" if tls_folder else "",
        )
        rendered = service.render("welcome", SAMPLE_CONTEXTS["welcome"])
        batch = [(f"user{n}@example.com", rendered, service.new_message_id()) for n in range(emails)]
        runs = {"one connection": one_connection, "one connection per email": connection_per_email}
        timings: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, run in runs.items():  # interleaved, so drift in machine load hits both
                messages.value = sessions.value = 0
                started = time.perf_counter()
                run(service, batch)
                timings[name].append(time.perf_counter() - started)
                # EHLO is said again after STARTTLS: two per connection with TLS.
                expected_sessions = (1 if name == "one connection" else emails) * (2 if tls_folder else 1)
                if messages.value != emails or sessions.value != expected_sessions:
                    raise SystemExit(f"{label}, {name}: server counted {messages.value} messages in "
                                     f"{sessions.value} EHLOs, expected {emails} in {expected_sessions}")
    finally:
        stop.set()
        server.join(timeout=20)
        if server.is_alive():
            server.kill()
        os.environ.pop("SSL_CERT_FILE", None)

    one = statistics.median(timings["one connection"])
    each = statistics.median(timings["one connection per email"])
    ratio = each / one
    print(f"{label}: {emails} emails, median of {rounds} rounds")
    print(f"  one connection:           {one:7.3f} s  ({emails / one:6.0f} emails/s, 1 session)")
    print(f"  one connection per email: {each:7.3f} s  ({emails / each:6.0f} emails/s, {emails} sessions)")
    print(f"  ratio: {ratio:.2f}x (target >= {TARGET:.0f}x: {'met' if ratio >= TARGET else 'NOT met'})")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    measure("plain SMTP (local sink)", emails=args.emails, rounds=args.rounds, tls_folder=None)
    with tempfile.TemporaryDirectory() as folder:
        measure("STARTTLS + AUTH (submission-style)", emails=args.emails, rounds=args.rounds, tls_folder=Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
