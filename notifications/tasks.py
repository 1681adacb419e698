"""django-q2 entry points: take a row id (or nothing) and call a service."""

from notifications import services


def outbound_email_send(email_id: int) -> str:
    return str(services.outbound_email_send(email_id=email_id))


def outbound_email_sweep() -> str:
    return str(services.outbound_email_sweep())
