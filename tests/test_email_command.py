"""`manage.py email`: send-test, retry-failed, preview, drain."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from notifications import services
from notifications.models import OutboundEmail
from tests.outbox_fixtures import outbox  # noqa: F401


def run(*args) -> str:
    out = StringIO()
    call_command("email", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_send_test_delivers_through_the_outbox(outbox):
    output = run("send-test", "ops@example.com")
    assert "Sent (Message-ID <" in output
    [received] = outbox.messages
    assert received.rcpt_tos == ("ops@example.com",)
    assert received.message["Subject"] == "Flowcast test email"
    assert OutboundEmail.objects.get().status == "sent"


@pytest.mark.django_db
def test_send_test_reports_a_refusal_and_an_outage(outbox):
    outbox.reply_with("554 5.7.1 Relay access denied")
    with pytest.raises(CommandError, match="The server refused it: 554 5.7.1 Relay access denied"):
        run("send-test", "ops@example.com")
    port = outbox.port
    outbox.stop()
    with pytest.raises(CommandError, match="Not sent yet \\(queued\\): ConnectionRefusedError"):
        run("send-test", "ops@example.com")
    outbox.start(port=port)


@pytest.mark.django_db
def test_send_test_refuses_a_bad_address(outbox):
    with pytest.raises(CommandError, match="'not-an-address' is not an email address."):
        run("send-test", "not-an-address")
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db
def test_retry_failed_sends_failed_emails_again_with_progress(outbox):
    for number in range(3):
        email, _ = services.outbound_email_queue(template="test", recipient=f"r{number}@example.com",
                                                 context={"queued_at": "x"}, idempotency_key=f"k{number}")
    outbox.reply_with("550 5.1.1 mailbox full", times=3)
    services.outbound_email_drain()
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"failed"}
    output = run("retry-failed")
    assert "Queued 3 failed email(s) again." in output
    assert "3/3: sent 3" in output and "Nothing left to send." in output
    assert len(outbox.messages) == 3
    assert run("retry-failed") == "No failed emails.\n"


@pytest.mark.django_db
def test_retry_failed_queue_only_leaves_sending_to_the_workers(outbox):
    email, _ = services.outbound_email_queue(template="test", recipient="r@example.com", context={}, idempotency_key="k")
    OutboundEmail.objects.filter(pk=email.pk).update(status="failed", last_error="550 x")
    assert "Queued 1" in run("retry-failed", "--queue-only")
    assert OutboundEmail.objects.get().status == "queued"
    assert outbox.messages == []


def test_preview_prints_subject_and_text_or_html():
    text = run("preview", "welcome")
    assert text.startswith("Subject: Welcome to Flowcast: please confirm your email address\n")
    assert "Open this link:" in text and "<" not in text
    assert "<!doctype html>" in run("preview", "welcome", "--html")


def test_preview_of_an_unknown_template_names_the_known_ones():
    with pytest.raises(CommandError, match="does not exist. Known emails: .*welcome"):
        run("preview", "nope")


@pytest.mark.django_db
def test_drain_reports_what_it_could_not_send(outbox):
    services.outbound_email_queue(template="test", recipient="r@example.com", context={}, idempotency_key="k")
    port = outbox.port
    outbox.stop()
    output = run("drain")
    assert "deferred 1" in output and "1 email(s) still queued; the sweeper retries them." in output
    outbox.start(port=port)
    assert "Nothing left to send." in run("drain")
    assert len(outbox.messages) == 1


@pytest.mark.django_db
def test_status_counts_each_state_and_names_the_oldest_wait(outbox):
    services.outbound_email_queue(template="test", recipient="a@example.com", context={}, idempotency_key="a")
    email, _ = services.outbound_email_queue(template="test", recipient="b@example.com", context={}, idempotency_key="b")
    OutboundEmail.objects.filter(pk=email.pk).update(status="failed", last_error="550 no")
    output = run("status")
    assert "  Queued: 1\n" in output and "  Failed: 1\n" in output and "    Sent: 0\n" in output
    assert "Oldest queued email waits since" in output and "last error: none" in output
