"""The mail server's part of `/api/health`, registered in `NotificationsConfig.ready()`."""

from __future__ import annotations

import smtplib

from django.conf import settings

from core.health import timed


@timed
def check_smtp():
    """The SMTP server answers NOOP (other email backends use no server)."""
    backend = settings.EMAIL_BACKEND
    if not backend.endswith("smtp.EmailBackend"):
        return True, f"{backend.rsplit('.', 2)[-2]} backend (no SMTP server used)"
    smtp_class = smtplib.SMTP_SSL if settings.EMAIL_USE_SSL else smtplib.SMTP
    with smtp_class(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=settings.HEALTH_CHECK_TIMEOUT) as smtp:
        code, _ = smtp.noop()
    if code != 250:
        return False, f"NOOP answered {code}"
    return True, f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
