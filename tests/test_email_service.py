"""EmailService against a real aiosmtpd server: rendering, parts, Message-ID, error classes."""

import smtplib

import pytest

from integrations.email import EmailService, EmailTemplateMissing, is_transient_smtp_error, smtp_error_message
from notifications.catalog import SAMPLE_CONTEXTS


def service_for(server) -> EmailService:
    return EmailService(default_from="Flowcast <noreply@flowcast.test>", site_url="http://testserver",
                        host=server.host, port=server.port, timeout=5)


@pytest.mark.parametrize("name", sorted(SAMPLE_CONTEXTS))
def test_every_email_renders_a_one_line_subject_an_html_and_a_real_text_part(name, smtp_server):
    rendered = service_for(smtp_server).render(name, SAMPLE_CONTEXTS[name])
    assert rendered.subject and "\n" not in rendered.subject and "{" not in rendered.subject
    assert rendered.html.lstrip().startswith("<!doctype html>")
    # Written for people: no markup, no unfilled template tags, and a signature with the site.
    assert "<" not in rendered.text and "{%" not in rendered.text and "{{" not in rendered.text
    assert "http://testserver/" in rendered.text


def test_text_parts_are_not_html_escaped_but_html_parts_are(smtp_server):
    context = {**SAMPLE_CONTEXTS["video_ready"], "video_title": 'Cats & <dogs> "live"'}
    rendered = service_for(smtp_server).render("video_ready", context)
    assert 'Cats & <dogs> "live"' in rendered.subject
    assert 'Cats & <dogs> "live"' in rendered.text
    assert "Cats &amp; &lt;dogs&gt;" in rendered.html and "<dogs>" not in rendered.html


def test_a_subject_can_not_carry_a_header_injection(smtp_server):
    context = {**SAMPLE_CONTEXTS["video_ready"], "video_title": "x\nBcc: victim@example.com"}
    assert "\n" not in service_for(smtp_server).render("video_ready", context).subject


def test_unknown_template_is_a_clear_error(smtp_server):
    with pytest.raises(EmailTemplateMissing, match="emails/nope/subject.txt"):
        service_for(smtp_server).render("nope", {})


def test_send_delivers_both_parts_with_the_given_message_id(smtp_server):
    service = service_for(smtp_server)
    rendered = service.render("welcome", SAMPLE_CONTEXTS["welcome"])
    message_id = service.new_message_id()
    assert message_id.endswith("@flowcast.test>")
    assert service.send(to="ada@example.com", rendered=rendered, message_id=message_id) == message_id
    [received] = smtp_server.messages
    parsed = received.message
    assert received.rcpt_tos == ("ada@example.com",)
    assert parsed["Message-ID"] == message_id
    assert parsed["Subject"] == rendered.subject
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
    assert SAMPLE_CONTEXTS["welcome"]["verify_url"] in parsed.get_body(("html",)).get_content()


def test_one_connection_carries_many_messages(smtp_server):
    service = service_for(smtp_server)
    rendered = service.render("test", SAMPLE_CONTEXTS["test"])
    connection = service.open_connection()
    try:
        for number in range(5):
            service.send(to=f"user{number}@example.com", rendered=rendered, connection=connection)
    finally:
        connection.close()
    assert len(smtp_server.messages) == 5
    assert smtp_server.handler.sessions == 1  # one EHLO: one SMTP session


def test_error_classes_from_a_real_server(smtp_server):
    service = service_for(smtp_server)
    rendered = service.render("test", SAMPLE_CONTEXTS["test"])
    smtp_server.reply_with("550 5.1.1 No such user here")
    with pytest.raises(smtplib.SMTPDataError) as permanent:
        service.send(to="nobody@example.com", rendered=rendered)
    assert not is_transient_smtp_error(permanent.value)
    assert smtp_error_message(permanent.value) == "550 5.1.1 No such user here"

    smtp_server.reply_with("451 4.3.0 Try again later")
    with pytest.raises(smtplib.SMTPDataError) as transient:
        service.send(to="someone@example.com", rendered=rendered)
    assert is_transient_smtp_error(transient.value)

    port = smtp_server.port
    smtp_server.stop()
    with pytest.raises(OSError) as refused:
        service.send(to="someone@example.com", rendered=rendered)
    assert is_transient_smtp_error(refused.value)
    smtp_server.start(port=port)
    assert smtp_server.messages == []


def test_tls_and_ssl_together_are_refused():
    with pytest.raises(ValueError, match="exclude each other"):
        EmailService(default_from="a@b.c", use_tls=True, use_ssl=True)


def test_refused_recipients_are_transient_only_when_every_reply_is_4xx():
    assert is_transient_smtp_error(smtplib.SMTPRecipientsRefused({"a@x": (450, b"mailbox busy")}))
    refused = smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy"), "b@x": (550, b"no such user")})
    assert not is_transient_smtp_error(refused)
    assert smtp_error_message(refused) == "a@x: 450 busy; b@x: 550 no such user"
    assert is_transient_smtp_error(smtplib.SMTPServerDisconnected("gone"))
    assert is_transient_smtp_error(TimeoutError("timed out"))
    assert not is_transient_smtp_error(smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."))
    assert not is_transient_smtp_error(smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"))
    assert not is_transient_smtp_error(ValueError("a bug"))


def test_backoff_between_attempts_doubles_up_to_the_cap(settings):
    from datetime import timedelta

    from core.jobs import retry_delay

    settings.EMAIL_RETRY_BACKOFF = 60
    settings.EMAIL_RETRY_BACKOFF_MAX = 300
    delays = [retry_delay(n, base_seconds=settings.EMAIL_RETRY_BACKOFF, max_seconds=settings.EMAIL_RETRY_BACKOFF_MAX)
              for n in (1, 2, 3, 4, 9)]
    assert delays == [timedelta(seconds=s) for s in (60, 120, 240, 300, 300)]


def test_times_in_emails_read_the_same_from_datetimes_and_unix_seconds():
    from datetime import UTC, datetime

    from notifications.emails import format_time

    assert format_time(datetime(2026, 11, 27, 10, 5, tzinfo=UTC)) == "2026-11-27 10:05 UTC"
    assert format_time(1_795_773_900) == "2026-11-27 10:05 UTC"
    assert format_time(None) == ""


def test_a_prepared_message_reaches_each_recipient_as_the_same_email_send_makes(smtp_server):
    """`prepare` flattens once; `send_prepared` adds To, Message-ID and Date per recipient. What the
    server receives must match what `send` delivers, header for header and part for part."""
    service = service_for(smtp_server)
    rendered = service.render("video_ready", {**SAMPLE_CONTEXTS["video_ready"], "video_title": "Café & <b>"})
    headers = {"X-Flowcast-Email": "video_ready"}
    service.send(to="one@example.com", rendered=rendered, message_id="<a@flowcast.test>", headers=headers)
    prepared = service.prepare(rendered=rendered, headers=headers)
    connection = service.open_connection()
    try:
        assert service.can_send_prepared(connection)
        for n, message_id in enumerate(["<b@flowcast.test>", "<c@flowcast.test>"]):
            service.send_prepared(to=f"p{n}@example.com", message_id=message_id, prepared=prepared,
                                  connection=connection)
        with pytest.raises(ValueError, match="line break"):
            service.send_prepared(to="x@example.com\r\nBcc: victim@example.com", message_id="<d@flowcast.test>",
                                  prepared=prepared, connection=connection)
    finally:
        connection.close()
    plain, *many = [mail.message for mail in smtp_server.messages]
    assert [m["To"] for m in many] == ["p0@example.com", "p1@example.com"]
    assert [m["Message-ID"] for m in many] == ["<b@flowcast.test>", "<c@flowcast.test>"]
    assert [mail.rcpt_tos for mail in smtp_server.messages[1:]] == [("p0@example.com",), ("p1@example.com",)]
    for message in many:
        for name in ("From", "Subject", "X-Flowcast-Email", "MIME-Version"):
            assert message[name] == plain[name]
        assert message["Date"]
        parts = {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}
        assert parts == {p.get_content_type(): p.get_content() for p in plain.walk() if not p.is_multipart()}
