"""Outbox admin: filters, search, sandboxed preview, resend / mark failed, the local mailbox page."""

import html

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.models import User
from integrations.mail_sink import RecordingHandler, start_smtp_server
from notifications import services
from notifications.models import OutboundEmail
from tests.outbox_fixtures import outbox  # noqa: F401

CHANGELIST = "admin:notifications_outboundemail_changelist"


@pytest.fixture
def staff_client(client, db):
    admin = User.objects.create_superuser("admin@example.com", "pw-Long-enough-1")
    OutboundEmail.objects.all().delete()  # the admin's own welcome email
    client.force_login(admin)
    return client


def make(recipient, template="test", status="queued", **extra):
    email, _ = services.outbound_email_queue(template=template, recipient=recipient,
                                             context={"queued_at": "x", **extra}, idempotency_key=f"{recipient}:{template}")
    facts = {"sent": {"sent_at": email.created_at}, "failed": {"last_error": "550 5.1.1 no such user"}}.get(status, {})
    OutboundEmail.objects.filter(pk=email.pk).update(status=status, **facts)
    email.refresh_from_db()
    return email


def test_changelist_filters_by_status_and_template_and_searches_recipients(staff_client):
    make("queued@example.com")
    make("failed@example.com", status="failed")
    make("sent@example.com", status="sent")
    page = staff_client.get(reverse(CHANGELIST), {"status__exact": "failed"})
    assert page.status_code == 200
    assert [e.recipient for e in page.context["cl"].result_list] == ["failed@example.com"]
    page = staff_client.get(reverse(CHANGELIST), {"q": "sent@"})
    assert [e.recipient for e in page.context["cl"].result_list] == ["sent@example.com"]
    page = staff_client.get(reverse(CHANGELIST), {"template": "test"})
    assert len(page.context["cl"].result_list) == 3
    assert reverse("admin:notifications_mailbox") in page.content.decode()
    assert page.context["outbox_summary"] == [("Queued", 1, "queued"), ("Sending", 0, "sending"), ("Sent", 1, "sent"),
                                              ("Failed", 1, "failed"), ("Cancelled", 0, "cancelled")]


def test_change_page_previews_html_in_a_sandboxed_iframe_and_the_text_part(staff_client):
    email = make("ada@example.com", template="video_ready", video_title="<script>alert(1)</script>", name="Ada",
                 video_url="http://testserver/v/1/", duration="")
    page = staff_client.get(reverse("admin:notifications_outboundemail_change", args=[email.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert '<iframe sandbox=""' in body
    # The HTML travels only inside srcdoc, escaped once more: nothing of it runs on the admin page.
    assert f'srcdoc="{html.escape(email.body_html)}"' in body
    assert "<script>alert(1)</script>" not in body
    assert html.escape(email.body_text, quote=False).splitlines()[0] in body


def test_resend_requeues_failed_and_sent_and_skips_queued(staff_client, outbox):
    failed = make("failed@example.com", status="failed")
    sent = make("sent@example.com", status="sent")
    queued = make("queued@example.com")
    response = staff_client.post(reverse(CHANGELIST), {"action": "resend", "_selected_action": [failed.pk, sent.pk, queued.pk]},
                                 follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert "Queued 2 email(s) to be sent again." in shown
    assert ("Skipped 1 email(s): still queued or being sent, cancelled (the chain reversed what they were about), "
            "or their template does not render.") in shown
    failed.refresh_from_db()
    sent_again = OutboundEmail.objects.get(pk=sent.pk)
    assert failed.status == sent_again.status == "queued"
    assert sent_again.message_id != sent.message_id  # a deliberate new message, not a retry
    services.outbound_email_drain()
    assert sorted(m.rcpt_tos[0] for m in outbox.messages) == ["failed@example.com", "queued@example.com", "sent@example.com"]


def test_mark_failed_stops_queued_emails(staff_client, outbox):
    queued = make("queued@example.com")
    sent = make("sent@example.com", status="sent")
    response = staff_client.post(reverse(CHANGELIST), {"action": "mark_failed", "_selected_action": [queued.pk, sent.pk]},
                                 follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert "Marked 1 email(s) as failed; they will not be sent." in shown
    queued.refresh_from_db()
    assert queued.status == "failed"
    assert queued.last_error == "Marked failed by admin@example.com in the admin."
    services.outbound_email_sweep()
    assert outbox.messages == []


def test_no_adding_emails_by_hand(staff_client):
    assert staff_client.get(reverse("admin:notifications_outboundemail_add")).status_code == 403


def test_mailbox_page_shows_what_the_local_sink_received(staff_client, settings, tmp_path, outbox):
    """`make run`'s sink (a real aiosmtpd writing .eml files) receives the welcome email; the admin shows it."""
    settings.MAIL_SINK_DIR = tmp_path / "mail"
    sink = start_smtp_server(RecordingHandler(directory=settings.MAIL_SINK_DIR))
    try:
        settings.EMAIL_PORT = sink.port
        with transaction.atomic():
            User.objects.create_user("newcomer@example.com")
        services.outbound_email_drain()
    finally:
        sink.stop()
    page = staff_client.get(reverse("admin:notifications_mailbox"))
    body = page.content.decode()
    assert "newcomer@example.com" in body
    assert "Welcome to Flowcast: please confirm your email address" in body
    [row] = page.context["rows"]
    message_page = staff_client.get(row["url"])
    assert message_page.status_code == 200
    content = message_page.content.decode()
    assert '<iframe sandbox=""' in content and "/api/auth/verify-email?token=" in content
    assert staff_client.get(reverse("admin:notifications_mailbox_message", args=["..%2F..%2Fetc%2Fpasswd"])).status_code == 404
    assert staff_client.get(reverse("admin:notifications_mailbox_message", args=["missing.eml"])).status_code == 404


def test_mailbox_page_when_empty_says_how_to_fill_it(staff_client, settings, tmp_path):
    settings.MAIL_SINK_DIR = tmp_path / "nothing"
    body = staff_client.get(reverse("admin:notifications_mailbox")).content.decode()
    assert "No mail received yet." in body


def test_the_admin_pages_need_staff(client, db):
    assert client.get(reverse("admin:notifications_mailbox")).status_code == 302
    assert client.get(reverse(CHANGELIST)).status_code == 302


def test_the_admin_index_names_the_outbox_for_people(staff_client):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert ">Emails<" in page and "Outbound emails" in page
    assert ">Notifications<" not in page
