"""A sender process killed mid-send (SIGKILL, a real `manage.py email drain`), then the sweeper.

- Killed before the server accepted the message: sent exactly once afterwards.
- Killed after the server accepted it but before its 250 reached the sender: the one
  at-least-once window SMTP leaves open. The resend carries the same Message-ID, so the
  receiver can recognise the duplicate; this test pins that documented behaviour.
"""

import sys
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import services
from notifications.models import OutboundEmail
from tests.fixtures.processes import ROOT, ManagedProcess, wait_for
from tests.fixtures.qcluster import child_environment
from tests.outbox_fixtures import outbox  # noqa: F401


def start_drain(server, tmp_path, **env) -> ManagedProcess:
    environment = child_environment(EMAIL_HOST=server.host, EMAIL_PORT=str(server.port), **env)
    return ManagedProcess([sys.executable, str(ROOT / "manage.py"), "email", "drain"], env=environment,
                          log_path=tmp_path / "drain.log").start()


def queue_one() -> OutboundEmail:
    with transaction.atomic():
        email, _ = services.outbound_email_queue(template="test", recipient="crash@example.com",
                                                 context={"queued_at": "now"}, idempotency_key="crash:1")
    return email


def age_heartbeat(email, settings):
    OutboundEmail.objects.filter(pk=email.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.EMAIL_SENDING_STALE_AFTER + 1))


@pytest.mark.django_db(transaction=True)
def test_killed_while_backing_off_then_sent_exactly_once(outbox, settings, tmp_path):
    email = queue_one()
    outbox.reply_with("451 4.3.0 Try again later")
    # The sender waits 60 s before its retry: plenty of time to kill it in the middle.
    drain = start_drain(outbox, tmp_path, EMAIL_RETRY_INITIAL_WAIT="60", EMAIL_RETRY_MAX_WAIT="60")
    try:
        wait_for(lambda: outbox.handler.pending_replies == 0, timeout=60, what=f"the 451\n{drain.log_tail()}")
        drain.kill()
    finally:
        drain.stop()
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sending", 1)
    assert outbox.messages == []

    assert services.outbound_email_sweep().requeued == 0  # heartbeat still fresh: maybe still working
    age_heartbeat(email, settings)
    assert services.outbound_email_sweep().drain.sent == 1
    services.outbound_email_sweep()
    [received] = outbox.messages
    assert received.message["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)


@pytest.mark.django_db(transaction=True)
def test_killed_after_the_server_accepted_resends_with_the_same_message_id(outbox, settings, tmp_path):
    email = queue_one()
    outbox.delay_data(30)
    drain = start_drain(outbox, tmp_path)
    try:
        wait_for(lambda: len(outbox.messages) == 1, timeout=60, what=f"the message at the server\n{drain.log_tail()}")
        drain.kill()
    finally:
        drain.stop()
    email.refresh_from_db()
    assert email.status == "sending"  # the sender never saw the 250
    age_heartbeat(email, settings)
    assert services.outbound_email_sweep().drain.sent == 1
    first, second = outbox.messages
    assert first.message["Message-ID"] == second.message["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert email.status == "sent"
