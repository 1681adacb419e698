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
