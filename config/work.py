"""Background work as database rows: claim, heartbeat, sweep.

Every job (a transcode, a pin, an email, an indexer pass) is a row with a state,
attempts, a heartbeat and its last error. A django-q2 task carries only the row's
id. `claim` moves a row from a waiting state to a running one in one conditional
UPDATE, so two workers that receive the same id never both do the work; a
sweeper finds rows whose heartbeat stopped and queues them again.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F, QuerySet
from django.utils import timezone


def claim(queryset: QuerySet, *, pk, field: str = "state", from_values, to_value, **updates) -> bool:
    """Atomically move row `pk` from one of `from_values` to `to_value`; False if another worker won.

    Counts an attempt and stamps the heartbeat when the model has those fields
    (`attempts`, `heartbeat_at`).
    """
    model_fields = {f.name for f in queryset.model._meta.get_fields()}
    values = {field: to_value, **updates}
    if "attempts" in model_fields and "attempts" not in updates:
        values["attempts"] = F("attempts") + 1
    if "heartbeat_at" in model_fields:
        values["heartbeat_at"] = timezone.now()
    return queryset.filter(pk=pk, **{f"{field}__in": list(from_values)}).update(**values) == 1


def heartbeat(queryset: QuerySet, *, pk, field: str = "state", while_value, **updates) -> bool:
    """Stamp the heartbeat of a row this worker holds; False if it no longer holds it."""
    return queryset.filter(pk=pk, **{field: while_value}).update(heartbeat_at=timezone.now(), **updates) == 1


def stale(queryset: QuerySet, *, field: str = "state", values, older_than: timedelta) -> QuerySet:
    """Rows in `values` whose heartbeat is older than `older_than` (or missing)."""
    cutoff = timezone.now() - older_than
    from django.db.models import Q

    return queryset.filter(**{f"{field}__in": list(values)}).filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
