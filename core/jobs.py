"""Background work as database rows: claim, heartbeat, sweep.

Every job (a transcode, a pin, an email, an indexer pass) is a row with a state,
attempts, a heartbeat and its last error. A django-q2 task carries only the row's
id. `claim` moves a row from a waiting state to a running one in one conditional
UPDATE, so two workers that receive the same id never both do the work; a
sweeper finds rows whose heartbeat stopped and queues them again.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
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


def claim_batch(queryset: QuerySet, *, field: str = "state", from_values, to_value, limit: int, first_pk=None,
                order_by=("pk",)) -> list:
    """Move up to `limit` rows of `queryset` in `from_values` to `to_value` at once; the pks this worker won.

    One transaction: the rows are read `FOR UPDATE SKIP LOCKED` (PostgreSQL: concurrent workers take
    disjoint rows instead of waiting) and moved with one conditional UPDATE; on SQLite the transaction
    holds the write lock from BEGIN (IMMEDIATE), so two workers cannot read the same queued rows.
    `first_pk`, when it is claimable, comes first. Counts an attempt and stamps the heartbeat like `claim`.
    """
    from django.db import transaction

    model_fields = {f.name for f in queryset.model._meta.get_fields()}
    values = {field: to_value}
    if "attempts" in model_fields:
        values["attempts"] = F("attempts") + 1
    if "heartbeat_at" in model_fields:
        values["heartbeat_at"] = timezone.now()
    waiting = queryset.filter(**{f"{field}__in": list(from_values)})
    with transaction.atomic(using=queryset.db):
        pks = list(waiting.select_for_update(skip_locked=True).order_by(*order_by).values_list("pk", flat=True)[:limit])
        if first_pk is not None and first_pk not in pks:
            head = list(waiting.select_for_update(skip_locked=True).filter(pk=first_pk).values_list("pk", flat=True))
            pks = (head + pks)[:limit]
        elif first_pk is not None:
            pks.remove(first_pk)
            pks.insert(0, first_pk)
        if not pks:
            return []
        moved = waiting.filter(pk__in=pks).update(**values)
        if moved != len(pks):  # cannot happen while the rows are locked; never hand out a row twice
            raise RuntimeError(f"claimed {moved} of {len(pks)} locked rows")
    return pks


def heartbeat(queryset: QuerySet, *, pk, field: str = "state", while_value, **updates) -> bool:
    """Stamp the heartbeat of a row this worker holds; False if it no longer holds it."""
    return queryset.filter(pk=pk, **{field: while_value}).update(heartbeat_at=timezone.now(), **updates) == 1


def stale(queryset: QuerySet, *, field: str = "state", values, older_than: timedelta) -> QuerySet:
    """Rows in `values` whose heartbeat is older than `older_than` (or missing)."""
    cutoff = timezone.now() - older_than
    from django.db.models import Q

    return queryset.filter(**{f"{field}__in": list(values)}).filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))


# ---------------------------------------------------------------- queues

# Every task names its queue. django-q2 sends a task without `cluster=` to the cluster of the
# process that enqueues it (`Conf.CLUSTER_NAME`: the ORM broker's `OrmQ.key`, Redis's
# `django_q:<name>:q` list), so a pin queued from inside a transcode worker would wait behind
# the next transcode on the long cluster.
DEFAULT_QUEUE = "default"
LONG_QUEUE = "long"


def broker_name(q_cluster) -> str:
    """"redis" or "orm": the django-q2 broker a `Q_CLUSTER` setting names (read without connecting)."""
    return "redis" if "redis" in q_cluster else "orm"


def queue_cluster(queue: str) -> str:
    """The django-q2 cluster name (its broker list) that serves `queue`."""
    from django.conf import settings

    clusters = {DEFAULT_QUEUE: settings.Q_CLUSTER["name"], LONG_QUEUE: settings.TRANSCODE_CLUSTER}
    if queue not in clusters:
        raise ValueError(f"unknown queue {queue!r}; one of {sorted(clusters)}")
    return clusters[queue]


def enqueue(func: str, row_id, *, queue: str, stamp: QuerySet | None = None) -> str:
    """Queue `func(row_id)` on `queue` now. `stamp`: rows whose `enqueued_at` records the ring."""
    from django_q.tasks import async_task

    cluster = queue_cluster(queue)
    if stamp is not None:
        stamp.update(enqueued_at=timezone.now())
    short = func.rsplit(".", 1)[-1]
    return async_task(func, row_id, cluster=cluster, task_name=f"{short}:{row_id}:{time.time_ns()}")


def enqueue_on_commit(func: str, row_id, *, queue: str, stamp: QuerySet | None = None) -> None:
    """Queue `func(row_id)` on `queue` once the current transaction commits (at once outside one).

    The row is the truth and the task only its doorbell: nothing is queued for a rolled-back row."""
    queue_cluster(queue)  # an unknown queue fails here, in the caller's transaction
    transaction.on_commit(lambda: enqueue(func, row_id, queue=queue, stamp=stamp))


# ---------------------------------------------------------------- leases and attempts

def worker_identity() -> str:
    """Who runs this attempt: host, process id and the django-q2 cluster it serves."""
    from django_q.conf import Conf

    return f"{socket.gethostname()}:{os.getpid()}:{Conf.CLUSTER_NAME}"


class LeaseKeeper:
    """Renews the lease on a claimed row from a thread while the work runs (however slow it is).

    The lease is `heartbeat_at + WORK_LEASE_SECONDS`; the sweeper takes a row back only when it
    expired, i.e. when the process stopped renewing it. The renewal is fenced by the attempt
    number: once another worker claimed the row (attempts + 1), `lost` is set and the old worker's
    writes are refused.
    """

    def __init__(self, queryset: QuerySet, *, pk, attempt: int, field: str = "state", while_value, interval: float):
        self._rows = queryset.filter(attempts=attempt)
        self._pk, self._field, self._value, self._interval = pk, field, while_value, interval
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{pk}", daemon=True)

    def _run(self) -> None:
        from django.db import close_old_connections, connection

        try:
            while not self._stop.wait(self._interval):
                try:
                    if not heartbeat(self._rows, pk=self._pk, field=self._field, while_value=self._value):
                        self.lost.set()
                        return
                except Exception:  # a database hiccup: try again next beat; the lease covers a few
                    close_old_connections()
        finally:
            connection.close()

    def __enter__(self) -> LeaseKeeper:
        from django.db import connection

        # Another connection cannot see rows of an uncommitted transaction (a test's, or a caller's
        # atomic block): there the work's own progress writes are the only heartbeat.
        if not connection.in_atomic_block:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def attempt_begin(queryset: QuerySet, *, pk, attempt: int, **fields) -> None:
    """Append attempt `attempt` to the row's `attempt_history` (start, worker)."""
    entry = {"attempt": attempt, "started_at": timezone.now().isoformat(), "ended_at": None,
             "worker": worker_identity(), "outcome": "running", "reason": "", **fields}
    _history_edit(queryset, pk, lambda history: [*[h for h in history if h.get("attempt") != attempt], entry])


def attempt_end(queryset: QuerySet, *, pk, attempt: int, outcome: str, reason: str = "") -> None:
    """Close attempt `attempt` with its outcome (succeeded, failed, interrupted, lease_expired, ...) and reason.

    An attempt already closed keeps its first ending (a fenced-off worker cannot rewrite it)."""
    def close(history):
        for entry in history:
            if entry.get("attempt") == attempt and entry.get("ended_at") is None:
                entry.update(ended_at=timezone.now().isoformat(), outcome=outcome, reason=reason[:2000])
        return history

    _history_edit(queryset, pk, close)


def _history_edit(queryset: QuerySet, pk, change) -> None:
    with transaction.atomic():
        row = queryset.select_for_update().filter(pk=pk).values("attempt_history").first()
        if row is None:
            return
        queryset.filter(pk=pk).update(attempt_history=change(list(row["attempt_history"] or [])))


# ---------------------------------------------------------------- the sweeper loop

def sweep_loop(sweep, *, schedule_name: str, interval: float, seconds: float, sleep=time.sleep) -> int:
    """Run `sweep()` every `interval` seconds for up to `seconds`, from inside one scheduled task.

    django-q2 1.11 schedules have a one-minute grain and its scheduler looks at them every ~30 s,
    so a minutely task fires 30-90 s apart. The loop outlives that gap (`seconds` > 90) and hands
    over to the next run: the scheduler stores the newest task's id on the `Schedule`, and a loop
    that sees a newer id than its own stops, so one loop sweeps at a time."""
    from django_q.models import Schedule

    def newest_task():
        return Schedule.objects.filter(name=schedule_name).values_list("task", flat=True).first()

    mine = None
    deadline = time.monotonic() + seconds
    passes = 0
    while True:
        sweep()
        passes += 1
        if time.monotonic() + interval > deadline:
            return passes
        sleep(interval)
        # Read after the first sleep: by then the scheduler has stored this run's task id.
        current = newest_task()
        if mine is None:
            mine = current
        elif current != mine:
            return passes  # a newer run took over


# ---------------------------------------------------------------- backoff and the sweeper shape

def retry_delay(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """The wait before trying a failed row again: base × 2^(attempts − 1), at most `max_seconds`."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


@dataclass
class SweepCounts:
    """What one sweeper pass did to one kind of row."""

    requeued: int = 0  # held by a worker that stopped renewing its lease: back to the queue
    rung: int = 0  # waiting, but its task may be lost (Redis has no receipts): queued again
    failed: int = 0  # out of attempts: given up, with the reason

    def __str__(self) -> str:
        return f"{self.requeued} requeued, {self.rung} rung again, {self.failed} given up"


def sweep_stale(
    queryset: QuerySet,
    *,
    task: str,
    queue: str,
    field: str = "state",
    running,
    waiting,
    lease: timedelta,
    max_attempts: int | None = None,
    requeue_fields: dict | None = None,
    on_requeued=None,
    give_up=None,
) -> SweepCounts:
    """The one sweeper shape for job rows (transcodes, pins, emails).

    - A row in `running` whose heartbeat is older than `lease` lost its worker. Out of attempts
      (`max_attempts`), `give_up(row)` ends it (returns whether it did); otherwise it goes back to
      `waiting` in one UPDATE fenced by the attempt number it was seen with (a worker that claimed it
      meanwhile wins), `on_requeued(row)` records why, and `task` is queued on `queue` on commit.
    - A row in `waiting` whose heartbeat is older than `lease` was never picked up: its task is
      queued again and its heartbeat stamped, so the next ring is a lease later.
    The row is the truth: a lost task or a dead worker delays work by about a lease, never loses it.
    """
    counts = SweepCounts()
    rows = queryset.model._default_manager
    has_attempts = "attempts" in {f.name for f in queryset.model._meta.get_fields()}
    for row in stale(queryset, field=field, values=[running], older_than=lease):
        attempts = getattr(row, "attempts", 0)
        if give_up is not None and max_attempts is not None and attempts >= max_attempts:
            counts.failed += bool(give_up(row))
            continue
        fence = {"attempts": attempts} if has_attempts else {}
        with transaction.atomic():
            moved = stale(rows.filter(pk=row.pk, **fence), field=field, values=[running], older_than=lease).update(
                **{field: waiting}, heartbeat_at=timezone.now(), **(requeue_fields or {}))
            if moved:
                if on_requeued is not None:
                    on_requeued(row)
                enqueue_on_commit(task, row.pk, queue=queue)
                counts.requeued += 1
    for pk in stale(queryset, field=field, values=[waiting], older_than=lease).values_list("pk", flat=True):
        with transaction.atomic():
            if heartbeat(stale(rows.filter(pk=pk), field=field, values=[waiting], older_than=lease),
                         pk=pk, field=field, while_value=waiting):
                enqueue_on_commit(task, pk, queue=queue)
                counts.rung += 1
    return counts
