"""End to end: a signup commits, a real django-q2 cluster sends the welcome email to a real SMTP server."""

import pytest
from django.db import transaction

from accounts.models import User
from notifications.models import OutboundEmail
from tests.fixtures.processes import wait_for


@pytest.mark.slow
def test_signup_to_inbox_through_a_real_cluster(smtp_server, q_cluster_factory):
    cluster = q_cluster_factory(env={"EMAIL_HOST": smtp_server.host, "EMAIL_PORT": str(smtp_server.port)})
    with transaction.atomic():
        User.objects.create_user("e2e@example.com")
        User.objects.create_user("e2e-second@example.com")
    wait_for(lambda: len(smtp_server.messages) >= 2, timeout=60, what=f"two welcome emails\n{cluster.log_tail()}")
    wait_for(lambda: set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}, timeout=30,
             what="both rows sent")
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["e2e-second@example.com", "e2e@example.com"]
    assert {m.message["Subject"] for m in smtp_server.messages} == {"Welcome to Flowcast: please confirm your email address"}


@pytest.mark.slow
def test_a_real_cluster_recovers_from_an_smtp_outage_through_the_sweeper_task(smtp_server, q_cluster_factory):
    from django_q.tasks import async_task

    port = smtp_server.port
    cluster = q_cluster_factory(env={"EMAIL_HOST": smtp_server.host, "EMAIL_PORT": str(port), "EMAIL_RETRY_BACKOFF": "0",
                                     "EMAIL_RETRY_INITIAL_WAIT": "0.05", "EMAIL_RETRY_MAX_WAIT": "0.1"})
    smtp_server.stop()
    with transaction.atomic():
        User.objects.create_user("outage@example.com")
    wait_for(lambda: "Connection refused" in OutboundEmail.objects.get().last_error, timeout=60,
             what=f"the send task to fail during the outage\n{cluster.log_tail()}")
    assert OutboundEmail.objects.get().status == "queued"
    smtp_server.start(port=port)
    async_task("notifications.tasks.outbound_email_sweep")  # what the schedule runs every minute
    wait_for(lambda: OutboundEmail.objects.get().status == "sent", timeout=60, what=f"sent\n{cluster.log_tail()}")
    assert [m.rcpt_tos for m in smtp_server.messages] == [("outage@example.com",)]
