"""The EmailService (the SMTP client in integrations/) configured from settings."""

from django.conf import settings

from integrations.email import EmailService


def email_service() -> EmailService:
    """The EmailService configured from settings (EMAIL_* variables)."""
    return EmailService(
        default_from=settings.DEFAULT_FROM_EMAIL,
        site_url=settings.SITE_URL,
        backend=settings.EMAIL_BACKEND,
        host=settings.EMAIL_HOST,
        port=settings.EMAIL_PORT,
        username=settings.EMAIL_HOST_USER,
        password=settings.EMAIL_HOST_PASSWORD,
        use_tls=settings.EMAIL_USE_TLS,
        use_ssl=settings.EMAIL_USE_SSL,
        timeout=settings.EMAIL_TIMEOUT,
    )
