"""django-q2 entry points of payments (thin: they call the indexer)."""

from django.conf import settings

from payments import indexer, selectors


def chain_follow_task(seconds: float = 50) -> int:
    """Scheduled every minute: index every CHAIN_SYNC_INTERVAL seconds for about a minute.

    django-q2 schedules have a one-minute grain; the cursor's claim keeps overlapping runs
    from indexing twice (a second one returns "busy" at once)."""
    if not selectors.deployment_exists():
        return 0
    return indexer.chain_follow(seconds=seconds, interval=settings.CHAIN_SYNC_INTERVAL)
