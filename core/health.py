"""Health of each part of the platform, for `GET /api/health`, `make run` and the demo.

Each app registers the parts it depends on in its `AppConfig.ready()` (`register("smtp", check)`);
the database and the task queue, which every app shares, are registered here. Every check returns
a `PartHealth` and never raises: a part that is down is reported with the reason. Checks other than
the database and those that read through it run concurrently, each bounded by `HEALTH_CHECK_TIMEOUT`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from core.jobs import broker_name


@dataclass(frozen=True)
class PartHealth:
    ok: bool
    detail: str
    latency_ms: float = 0.0


def timed(check):
    """Wrap a check returning `(ok, detail)` into one returning a `PartHealth` that never raises."""
    def run(*args, **kwargs) -> PartHealth:
        started = time.perf_counter()
        try:
            ok, detail = check(*args, **kwargs)
        except Exception as error:  # a health check reports, it never raises
            ok, detail = False, f"{type(error).__name__}: {error}"
        return PartHealth(ok=ok, detail=detail, latency_ms=round((time.perf_counter() - started) * 1000, 1))

    run.__name__ = check.__name__
    return run


@dataclass(frozen=True)
class _Registered:
    check: Callable[[], PartHealth]
    needs_database: Callable[[], bool]


_checks: dict[str, _Registered] = {}


def register(name: str, check: Callable[[], PartHealth], *, needs_database: bool | Callable[[], bool] = False) -> None:
    """Report part `name` with `check()` (a `timed` function of no arguments) in `platform_health()`.

    `needs_database`: the check reads through the ORM, so it runs on the caller's thread (and its
    connection) after the database check, and is reported down without running when the database is.
    Registering a name again replaces its check (apps' `ready()` may run more than once in tests)."""
    needs = needs_database if callable(needs_database) else (lambda: needs_database)
    _checks[name] = _Registered(check=check, needs_database=needs)


def platform_health() -> dict[str, PartHealth]:
    """The database first, then every registered part (concurrently, except those that need the database)."""
    parts = {"database": check_database()}
    on_this_thread = {name: entry for name, entry in _checks.items() if entry.needs_database()}
    concurrent = {name: entry for name, entry in _checks.items() if name not in on_this_thread}
    with ThreadPoolExecutor(max_workers=max(len(concurrent), 1)) as pool:
        futures = {name: pool.submit(entry.check) for name, entry in concurrent.items()}
        for name, entry in on_this_thread.items():
            if parts["database"].ok:
                parts[name] = entry.check()
            else:
                parts[name] = PartHealth(ok=False, detail=f"the {name} check reads the database, which is down")
        for name, future in futures.items():
            parts[name] = future.result()
    return parts


# -- the parts every app shares --------------------------------------------------------------------


@timed
def check_database(alias: str = "default"):
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
    return True, f"{connection.vendor} {connection.settings_dict['NAME']}"


@timed
def check_queue():
    from django_q.brokers import get_broker
    from django_q.status import Stat

    broker = get_broker()
    kind = broker_name(settings.Q_CLUSTER)
    if kind == "redis":
        broker.ping()
    queued = broker.queue_size()
    clusters = len(Stat.get_all(broker=broker))
    return True, f"{kind} broker, {queued} task(s) queued, {clusters_seen(clusters)}"


def clusters_seen(clusters: int) -> str:
    """Clusters report themselves in the cache, which the web process shares with them only on Redis;
    on the ORM broker with a per-process cache, the last finished task is the sign of life."""
    from django_q.models import Task

    if clusters:
        return f"{clusters} cluster(s) running"
    try:
        last = Task.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    except DatabaseError:
        return "no cluster seen (the task history is out of reach)"
    if last is None:
        return "no cluster seen yet"
    return f"last task finished {max(0, round((timezone.now() - last).total_seconds()))} s ago"


# The ORM broker reads the database: on this thread's connection, and not at all when it is down.
register("queue", check_queue, needs_database=lambda: broker_name(settings.Q_CLUSTER) == "orm")
