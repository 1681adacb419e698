"""The outbox against a real aiosmtpd server: exactly once through outages, errors and concurrency."""

import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from core.jobs import claim
from notifications import selectors, services
from notifications.models import OutboundEmail
from tests.outbox_fixtures import outbox, sync_tasks  # noqa: F401


def queue_emails(count: int, *, prefix: str = "user") -> list[OutboundEmail]:
    rows = []
    with transaction.atomic():
        for number in range(count):
            email, created = services.outbound_email_queue(
                template="test", recipient=f"{prefix}{number}@example.com", context={"queued_at": "now"},
                idempotency_key=f"{prefix}:{number}",
            )
            assert created
            rows.append(email)
    return rows


def message_ids(server) -> list[str]:
    return [mail.message["Message-ID"] for mail in server.messages]


@pytest.mark.django_db
def test_welcome_email_arrives_with_both_parts_and_a_working_link(outbox, sync_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            user = User.objects.create_user("ada@example.com", "pw-Long-enough-1", display_name="Ada & Co")
    assert len(callbacks) == 1
    [received] = outbox.messages
    message = received.message
    assert received.rcpt_tos == ("ada@example.com",)
    assert message["Subject"] == "Welcome to Flowcast: please confirm your email address"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Welcome, Ada & Co!" in text and "Welcome, Ada &amp; Co!" in html
    [link] = [line.strip() for line in text.splitlines() if "/api/auth/verify-email?token=" in line]
    assert f'href="{link}"' in html
    row = OutboundEmail.objects.get()
    assert (row.status, row.attempts, row.message_id) == ("sent", 1, message["Message-ID"])

    # The link works once.
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver"
    first = Client().get(f"{parts.path}?{parts.query}")
    assert first.status_code == 200, first.content
    assert first.json()["email"] == "ada@example.com"
    user.refresh_from_db()
    assert user.email_verified
    again = Client().get(f"{parts.path}?{parts.query}")
    assert again.status_code == 409
    assert again.json()["code"] == "link_used"


@pytest.mark.django_db
def test_smtp_down_while_100_are_queued_then_up_delivers_each_once(outbox, sync_tasks, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.EMAIL_SEND_RETRIES = 2  # each of the 100 tasks still retries once during the outage
    port = outbox.port
    outbox.stop()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            for number in range(100):
                User.objects.create_user(f"user{number}@example.com")
    # Every send task ran during the outage, retried, and left its row queued with the reason.
    assert len(callbacks) == 100
    rows = OutboundEmail.objects.all()
    assert rows.count() == 100
    assert set(rows.values_list("status", flat=True)) == {"queued"}
    assert all("Connection refused" in error for error in rows.values_list("last_error", flat=True))

    outbox.start(port=port)
    report = services.outbound_email_sweep()
    assert report.drain.sent == 100
    assert len(outbox.messages) == 100
    assert sorted(m.rcpt_tos[0] for m in outbox.messages) == sorted(f"user{n}@example.com" for n in range(100))
    assert len(set(message_ids(outbox))) == 100
    assert set(message_ids(outbox)) == set(rows.values_list("message_id", flat=True))
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    # One SMTP session carried the whole batch.
    assert outbox.handler.sessions == 1

    # Nothing is sent again by later sweeps or by the tasks queued for each row.
    services.outbound_email_sweep()
    for email_id in rows.values_list("id", flat=True)[:10]:
        services.outbound_email_send(email_id=email_id)
    assert len(outbox.messages) == 100


@pytest.mark.django_db
def test_a_550_reply_fails_the_row_at_once_keeping_the_message(outbox):
    [email] = queue_emails(1)
    outbox.reply_with("550 5.1.1 <user0@example.com>: no such user here")
    report = services.outbound_email_drain()
    assert (report.failed, report.sent) == (1, 0)
    email.refresh_from_db()
    assert email.status == "failed"
    assert email.attempts == 1
    assert email.last_error == "550 5.1.1 <user0@example.com>: no such user here"
    assert outbox.handler.sessions == 1  # not retried within the attempt either
    services.outbound_email_sweep()
    assert outbox.messages == []


@pytest.mark.django_db
def test_a_451_reply_is_retried_within_the_attempt(outbox):
    [email] = queue_emails(1)
    outbox.reply_with("451 4.3.0 Try again later", times=2)
    report = services.outbound_email_drain()
    assert report.sent == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)
    assert len(outbox.messages) == 1


@pytest.mark.django_db
def test_a_451_that_lasts_defers_the_row_with_backoff_then_it_is_sent_once(outbox, settings):
    settings.EMAIL_RETRY_BACKOFF = 60
    [email] = queue_emails(1)
    outbox.reply_with("451 4.3.0 Try again later", times=settings.EMAIL_SEND_RETRIES)
    assert services.outbound_email_drain().deferred == 1
    email.refresh_from_db()
    assert email.status == "queued"
    assert email.last_error == "451 4.3.0 Try again later"
    assert email.next_attempt_at > timezone.now() + timedelta(seconds=50)
    # Not due yet: the sweeper leaves it alone.
    assert services.outbound_email_sweep().drain.sent == 0
    # Time passes.
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert services.outbound_email_sweep().drain.sent == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 2, "")
    assert len(outbox.messages) == 1


@pytest.mark.django_db
def test_a_row_that_keeps_failing_gives_up_after_max_attempts(outbox, settings):
    settings.EMAIL_MAX_ATTEMPTS = 2
    [email] = queue_emails(1)
    outbox.reply_with("421 4.7.0 Too busy", times=100)
    services.outbound_email_drain()
    services.outbound_email_drain()
    email.refresh_from_db()
    assert email.status == "failed"
    assert email.last_error.startswith("Gave up after 2 attempts; last error: 421")
    outbox.handler.clear()
    services.outbound_email_sweep()
    assert outbox.messages == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_send_each_email_once(outbox):
    rows = queue_emails(60)
    barrier = threading.Barrier(2)
    reports = []
    errors = []

    def worker():
        try:
            barrier.wait(timeout=10)
            reports.append(services.outbound_email_drain(limit=100))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(reports) == 2
    assert sum(r.sent for r in reports) == 60
    # Both raced for the same rows: what one sent, the other found claimed (or already gone from its list).
    assert all(r.sent + r.skipped <= 60 for r in reports)
    assert len(outbox.messages) == 60
    assert len(set(message_ids(outbox))) == 60
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}
    assert {row.message_id for row in rows} == set(message_ids(outbox))


@pytest.mark.django_db(transaction=True)
def test_two_drain_processes_at_once_send_each_email_once(outbox):
    """Two `manage.py email drain` processes on the same database and server."""
    import subprocess
    import sys

    from tests.fixtures.processes import ROOT
    from tests.fixtures.qcluster import child_environment

    queue_emails(40)
    env = child_environment(EMAIL_HOST=outbox.host, EMAIL_PORT=str(outbox.port), EMAIL_RETRY_INITIAL_WAIT="0.01")
    command = [sys.executable, str(ROOT / "manage.py"), "email", "drain"]
    workers = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert len(outbox.messages) == 40
    assert len(set(message_ids(outbox))) == 40
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_a_user_created_in_a_transaction_that_rolls_back_sends_nothing(outbox, sync_tasks):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            User.objects.create_user("ghost@example.com")
            # The email is written in the same transaction ...
            assert OutboundEmail.objects.filter(recipient="ghost@example.com").exists()
            raise RuntimeError("the signup failed later on")
    # ... so it is gone with it, and no task ran (tasks run inline here, so one would have sent).
    assert not User.objects.filter(email="ghost@example.com").exists()
    assert OutboundEmail.objects.count() == 0
    services.outbound_email_sweep()
    assert outbox.messages == []

    # Committed, the same signup sends its welcome email at once.
    with transaction.atomic():
        User.objects.create_user("real@example.com")
    assert [m.rcpt_tos for m in outbox.messages] == [("real@example.com",)]


@pytest.mark.django_db
def test_a_sender_that_died_mid_send_is_requeued_with_the_same_message_id(outbox, settings):
    """A worker killed after claiming a row leaves it `sending` with a stale heartbeat."""
    [email] = queue_emails(1)
    assert claim(OutboundEmail.objects.all(), pk=email.pk, field="status", from_values=["queued"], to_value="sending")
    # Fresh heartbeat: the sweeper does not touch a send in progress.
    assert services.outbound_email_sweep().requeued == 0
    assert outbox.messages == []
    OutboundEmail.objects.filter(pk=email.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.EMAIL_SENDING_STALE_AFTER + 1)
    )
    report = services.outbound_email_sweep()
    assert (report.requeued, report.drain.sent) == (1, 1)
    [received] = outbox.messages
    assert received.message["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)


@pytest.mark.django_db
def test_the_same_idempotency_key_never_makes_a_second_email(outbox):
    first, created = services.outbound_email_queue(template="test", recipient="a@example.com",
                                                   context={"queued_at": "1"}, idempotency_key="same")
    second, created_again = services.outbound_email_queue(template="test", recipient="a@example.com",
                                                          context={"queued_at": "2"}, idempotency_key="same")
    assert created and not created_again
    assert first.pk == second.pk
    assert OutboundEmail.objects.count() == 1


@pytest.mark.django_db
def test_the_sweeper_schedule_exists_after_migrations():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="notifications.outbound_email_sweep")
    assert schedule.func == "notifications.tasks.outbound_email_sweep"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


@pytest.mark.django_db
def test_a_template_that_does_not_render_keeps_the_event_and_records_a_failed_email(outbox):
    with transaction.atomic():
        user = User.objects.create_user("kept@example.com")
        email, created = services.outbound_email_queue(template="no_such_email", recipient=user.email, context={},
                                                       idempotency_key="broken:1")
    assert created and User.objects.filter(email="kept@example.com").exists()
    email.refresh_from_db()
    assert email.status == "failed"
    assert email.last_error.startswith("Could not render the template: EmailTemplateMissing")
    assert services.outbound_email_resend(email_ids=[email.pk]) == ([], 1)  # still broken: stays failed
    services.outbound_email_drain()
    assert [m.message["X-Flowcast-Email"] for m in outbox.messages] == ["welcome"]


@pytest.mark.django_db
def test_every_email_arrives_with_its_subject_both_parts_and_the_same_links_in_each(outbox):
    import re

    from notifications.catalog import SAMPLE_CONTEXTS

    with transaction.atomic():
        rows = {name: services.outbound_email_queue(template=name, recipient=f"{name}@example.com", context=context,
                                                    idempotency_key=f"all:{name}")[0]
                for name, context in SAMPLE_CONTEXTS.items()}
    assert services.outbound_email_drain().sent == len(rows)
    received = {mail.rcpt_tos[0].split("@")[0]: mail.message for mail in outbox.messages}
    assert set(received) == set(rows)
    for name, message in received.items():
        assert message["Subject"] == rows[name].subject
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        links = set(re.findall(r"https?://\S+", text))
        assert links, name
        for link in links:
            assert f'href="{link}"' in html.replace("&amp;", "&"), (name, link)


@pytest.mark.django_db
def test_a_drain_past_its_time_budget_leaves_the_rest_for_the_next_one(outbox, settings):
    settings.EMAIL_DRAIN_TIME_BUDGET = 0
    queue_emails(3)
    assert services.outbound_email_drain().sent == 1  # always makes progress, then stops
    assert selectors.due_emails().count() == 2
    assert services.outbound_email_sweep().drain.sent == 2
    assert len(outbox.messages) == 3


@pytest.mark.django_db
def test_the_sweeper_rings_a_due_email_whose_task_was_lost_and_leaves_a_deferred_one(settings,
                                                                                    django_capture_on_commit_callbacks):
    """The one sweeper shape (core.jobs.sweep_stale): a due row nobody picked up within the lease gets its send
    task queued again (a Redis broker keeps no receipts), then the drain sends it; a row backing off is not due."""
    lost, deferred = queue_emails(2)
    long_ago = timezone.now() - timedelta(seconds=settings.EMAIL_SENDING_STALE_AFTER + 1)
    later = timezone.now() + timedelta(hours=1)
    OutboundEmail.objects.filter(pk__in=[lost.pk, deferred.pk]).update(heartbeat_at=long_ago)
    OutboundEmail.objects.filter(pk=deferred.pk).update(next_attempt_at=later)
    with django_capture_on_commit_callbacks() as callbacks:
        report = services.outbound_email_sweep()
    assert (report.swept.rung, report.swept.requeued, report.drain.sent) == (1, 0, 1)
    assert len(callbacks) == 1  # the lost row's send task, queued on commit
    lost.refresh_from_db()
    deferred.refresh_from_db()
    assert lost.status == "sent"
    assert (deferred.status, deferred.heartbeat_at, deferred.next_attempt_at) == ("queued", long_ago, later)
