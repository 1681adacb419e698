"""Email client: renders Django templates and sends them through a Django email backend.

No models here. `EmailService` takes its configuration in its constructor, so the
outbox (notifications app), management commands, tests and benchmarks can hand it
any SMTP server. Each email is a folder `templates/emails/<name>/` holding
`subject.txt`, `body.html` and `body.txt` (a text part written for humans).
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, make_msgid, parseaddr

from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPEmailBackend
from django.core.mail.message import sanitize_address
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class EmailTemplateMissing(LookupError):
    """The folder `emails/<name>/` or one of its three files does not exist."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def is_transient_smtp_error(error: BaseException) -> bool:
    """Worth trying again later: no connection, a timeout, a dropped session, or a 4xx reply.

    5xx replies (unknown user, rejected content, bad credentials) are permanent.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, smtplib.SMTPException):
        # e.g. "STARTTLS extension not supported": configuration, not weather.
        return False
    return isinstance(error, (OSError, TimeoutError))


def smtp_error_message(error: BaseException) -> str:
    """The server's own words where there are some (`550 5.1.1 No such user`)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{recipient}: {code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
            for recipient, (code, reply) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
        return f"{error.smtp_code} {reply}"
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class PreparedMessage:
    """A message flattened to bytes once, without its per-recipient headers (To, Message-ID, Date):
    many recipients of the same rendered email cost one MIME build, not one each."""

    envelope_from: str
    body: bytes
    encoding: str
    use_localtime: bool


class EmailService:
    """Render and send templated emails.

    `backend` is a dotted Django email backend path; the SMTP options are passed to it
    (other backends ignore them). `send()` uses the connection it is given, so a
    caller can send many messages over one SMTP session, or opens one for itself.
    """

    def __init__(
        self,
        *,
        default_from: str,
        site_url: str = "",
        backend: str = SMTP_BACKEND,
        host: str = "127.0.0.1",
        port: int = 25,
        username: str = "",
        password: str = "",
        use_tls: bool = False,
        use_ssl: bool = False,
        timeout: float | None = 10,
        template_folder: str = "emails",
    ):
        if use_tls and use_ssl:
            raise ValueError("use_tls (STARTTLS) and use_ssl (implicit TLS) exclude each other; choose one.")
        self.default_from = default_from
        self.site_url = site_url.rstrip("/")
        self.backend = backend
        self.connection_options = {
            "host": host,
            "port": port,
            "username": username,
            "password": password,
            "use_tls": use_tls,
            "use_ssl": use_ssl,
            "timeout": timeout,
        }
        self.template_folder = template_folder

    # Rendering -------------------------------------------------------------

    def render(self, name: str, context: Mapping) -> RenderedEmail:
        full_context = {"site_url": self.site_url, **context}
        subject = self._render_file(name, "subject.txt", full_context, autoescape=False)
        # A subject is one line: a newline in it would be a header injection.
        subject = " ".join(subject.split())
        text = self._render_file(name, "body.txt", full_context, autoescape=False).strip() + "\n"
        html = self._render_file(name, "body.html", full_context, autoescape=True)
        return RenderedEmail(subject=subject, text=text, html=html)

    def _render_file(self, name: str, filename: str, context: Mapping, *, autoescape: bool) -> str:
        path = f"{self.template_folder}/{name}/{filename}"
        try:
            template = get_template(path)
        except TemplateDoesNotExist:
            raise EmailTemplateMissing(f"email template {path!r} does not exist") from None
        # Text parts and subjects are not HTML: `&` must stay `&`, not become `&amp;`.
        return template.template.render(Context(dict(context), autoescape=autoescape))

    # Sending ---------------------------------------------------------------

    def new_message_id(self) -> str:
        """A Message-ID in the sender's domain; the outbox stores it before sending."""
        domain = parseaddr(self.default_from)[1].rpartition("@")[2] or "localhost"
        return make_msgid(domain=domain)

    def open_connection(self) -> BaseEmailBackend:
        """An open connection (one SMTP session) for `send(..., connection=)`; close it when done."""
        connection = get_connection(self.backend, fail_silently=False, **self.connection_options)
        connection.open()
        return connection

    def build_message(
        self,
        *,
        to: str,
        rendered: RenderedEmail,
        message_id: str | None = None,
        from_email: str | None = None,
        headers: Mapping[str, str] | None = None,
        connection: BaseEmailBackend | None = None,
    ) -> EmailMultiAlternatives:
        all_headers = {"Message-ID": message_id or self.new_message_id(), **(headers or {})}
        message = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.text,
            from_email=from_email or self.default_from,
            to=[to],
            headers=all_headers,
            connection=connection,
        )
        message.attach_alternative(rendered.html, "text/html")
        return message

    def prepare(
        self, *, rendered: RenderedEmail, from_email: str | None = None, headers: Mapping[str, str] | None = None,
    ) -> PreparedMessage:
        """Build and flatten `rendered` once for `send_prepared` (the same bytes Django's SMTP backend sends)."""
        from django.conf import settings

        message = self.build_message(to="prepared@invalid", rendered=rendered, from_email=from_email, headers=headers)
        mime = message.message()
        for name in ("To", "Message-ID", "Date"):
            del mime[name]
        encoding = message.encoding or settings.DEFAULT_CHARSET
        return PreparedMessage(envelope_from=sanitize_address(message.from_email, encoding),
                               body=mime.as_bytes(linesep="\r\n"), encoding=encoding,
                               use_localtime=settings.EMAIL_USE_LOCALTIME)

    @staticmethod
    def can_send_prepared(connection: BaseEmailBackend) -> bool:
        return isinstance(connection, SMTPEmailBackend) and connection.connection is not None

    def send_prepared(self, *, to: str, message_id: str, prepared: PreparedMessage, connection: BaseEmailBackend) -> None:
        """Send a prepared message to `to` over an open SMTP `connection` (see `can_send_prepared`)."""
        if any(c in value for value in (to, message_id) for c in "\r\n"):
            raise ValueError("a recipient or Message-ID must not contain a line break")
        recipient = sanitize_address(to, prepared.encoding)
        head = (f"To: {recipient}\r\nMessage-ID: {message_id}\r\n"
                f"Date: {formatdate(localtime=prepared.use_localtime)}\r\n").encode("ascii")
        connection.connection.sendmail(prepared.envelope_from, [recipient], head + prepared.body)

    def send(
        self,
        *,
        to: str,
        rendered: RenderedEmail,
        message_id: str | None = None,
        from_email: str | None = None,
        headers: Mapping[str, str] | None = None,
        connection: BaseEmailBackend | None = None,
    ) -> str:
        """Send one message; returns its Message-ID. Raises the backend's error (see `is_transient_smtp_error`).

        Without `connection` a session is opened and closed for this one message.
        """
        own_connection = connection is None
        if own_connection:
            connection = self.open_connection()
        try:
            message = self.build_message(
                to=to, rendered=rendered, message_id=message_id, from_email=from_email, headers=headers,
                connection=connection,
            )
            connection.send_messages([message])
            return message.extra_headers["Message-ID"]
        finally:
            if own_connection:
                connection.close()
