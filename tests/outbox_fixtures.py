"""Fixtures for the email tests: a real aiosmtpd server and quick retry timings."""

import pytest


@pytest.fixture
def outbox(smtp_server, settings):
    """The real SMTP server, with retry waits shrunk so a test never sleeps long.

    Backoff between attempts is 0, so a deferred email is due again at once (tests
    that check the backoff set EMAIL_RETRY_BACKOFF themselves).
    """
    settings.EMAIL_RETRY_INITIAL_WAIT = 0.01
    settings.EMAIL_RETRY_MAX_WAIT = 0.02
    settings.EMAIL_SEND_RETRIES = 3
    settings.EMAIL_RETRY_BACKOFF = 0
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "http://testserver"
    return smtp_server


@pytest.fixture
def sync_tasks(monkeypatch):
    """django-q2 runs tasks inline (its sync mode), so an on-commit `async_task` sends at once."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)
