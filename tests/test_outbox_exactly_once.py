"""Exactly once across a crash: a real `manage.py email drain` killed (SIGKILL) mid-batch while the sink
is receiving, then the sweeper and another drain. The sink must have each email exactly once (counted by
Message-ID) and every row must end sent.

The kill lands while the server holds its reply to a MAIL FROM: the messages before it were accepted
(and must already be marked sent, each right after its 250), the held one was not accepted, and the rest
of the claimed batch was never tried. (A kill between a 250 and its mark is the one window SMTP leaves
open; tests/test_email_crash.py pins that it resends with the same Message-ID.)
"""

import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import services
from notifications.models import OutboundEmail
from tests.fixtures.processes import ROOT, ManagedProcess, wait_for
from tests.fixtures.qcluster import child_environment
from tests.outbox_fixtures import outbox  # noqa: F401

EMAILS = 20
HELD_AT = 8  # the 8th message's MAIL FROM is held: 7 accepted before the kill


@pytest.mark.django_db(transaction=True)
def test_drain_killed_mid_batch_then_swept_sends_each_email_exactly_once(outbox, settings, tmp_path):
    with transaction.atomic():
        for n in range(EMAILS):
            services.outbound_email_queue(template="test", recipient=f"once{n}@example.com",
                                          context={"queued_at": str(n)}, idempotency_key=f"once:{n}")
    outbox.handler.hold_mail(60, at=HELD_AT)
    environment = child_environment(EMAIL_HOST=outbox.host, EMAIL_PORT=str(outbox.port))
    drain = ManagedProcess([sys.executable, str(ROOT / "manage.py"), "email", "drain"], env=environment,
                           log_path=tmp_path / "drain.log").start()
    try:
        wait_for(lambda: outbox.handler.holding, timeout=60, what=f"the held MAIL FROM\n{drain.log_tail()}")
        drain.kill()
    finally:
        drain.stop()
    assert len(outbox.messages) == HELD_AT - 1
    statuses = Counter(OutboundEmail.objects.values_list("status", flat=True))
    # Accepted ones are marked sent at once; the held one and the untried rest are still held by the dead drain.
    assert statuses == {"sent": HELD_AT - 1, "sending": EMAILS - HELD_AT + 1}

    OutboundEmail.objects.filter(status="sending").update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.EMAIL_SENDING_STALE_AFTER + 1))
    report = services.outbound_email_sweep()
    assert report.requeued == EMAILS - HELD_AT + 1
    assert services.outbound_email_drain().sent == 0  # another drain finds nothing left

    received = Counter(mail.message["Message-ID"] for mail in outbox.messages)
    rows = dict(OutboundEmail.objects.values_list("message_id", "status"))
    assert received == Counter({message_id: 1 for message_id in rows})  # each once, 0 duplicates
    assert set(rows.values()) == {"sent"}
