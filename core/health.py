"""Health of each part of the platform, for `GET /api/health` and `make run`.

Every check returns a `PartHealth` and never raises: a part that is down is
reported with the reason. Checks other than the database run concurrently,
each bounded by `HEALTH_CHECK_TIMEOUT`. The tools' versions are read once per process (and
again when the binary changes), so calling the endpoint starts no process.
"""

from __future__ import annotations

import functools
import os
import shutil
import smtplib
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from config.env import binary_source, broker_name


@dataclass(frozen=True)
class PartHealth:
    ok: bool
    detail: str
    latency_ms: float = 0.0


def timed(check):
    def run(*args, **kwargs) -> PartHealth:
        started = time.perf_counter()
        try:
            ok, detail = check(*args, **kwargs)
        except Exception as error:  # a health check reports, it never raises
            ok, detail = False, f"{type(error).__name__}: {error}"
        return PartHealth(ok=ok, detail=detail, latency_ms=round((time.perf_counter() - started) * 1000, 1))

    run.__name__ = check.__name__
    return run


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


@timed
def check_binary(binary: str, timeout: float):
    path = shutil.which(binary)
    if path is None:
        return False, f"{binary!r} not found on PATH"
    ok, detail = binary_version(path, os.stat(path).st_mtime_ns, timeout)
    return ok, f"{detail} (from {binary_source(binary, data_dir=settings.DATA_DIR)})" if ok else detail


@functools.lru_cache(maxsize=32)
def binary_version(path: str, modified_ns: int, timeout: float) -> tuple[bool, str]:
    """`<path> -version`'s first line, run once per binary (and modification time) per process: anyone
    may call /api/health, and it must not start a process per call. A timeout is not remembered."""
    result = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        return False, f"{path} -version exited with {result.returncode}"
    version = " ".join((result.stdout.splitlines() or [""])[0].split()[:3])  # e.g. "ffmpeg version 7.0.2-static"
    return True, f"{version or path} at {path}"


@timed
def check_chain(rpc_url: str, expected_chain_id: int, timeout: float):
    calls = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
    ]
    response = httpx.post(rpc_url, json=calls, timeout=timeout)
    response.raise_for_status()
    answers = {item["id"]: item for item in response.json()}
    if "error" in answers[1]:
        return False, f"eth_chainId failed: {answers[1]['error']}"
    chain_id = int(answers[1]["result"], 16)
    block = int(answers[2]["result"], 16)
    if chain_id != expected_chain_id:
        return False, f"{rpc_url} is chain {chain_id}, settings expect CHAIN_ID={expected_chain_id}"
    return True, f"chain {chain_id} at block {block} ({rpc_url})"


@timed
def check_ipfs(backend: str, timeout: float):
    """The configured IPFS backend's own health check (embedded blockstore, Kubo version, pinning service)."""
    from integrations.services import ipfs_health

    return ipfs_health()


@timed
def check_smtp(timeout: float):
    backend = settings.EMAIL_BACKEND
    if not backend.endswith("smtp.EmailBackend"):
        return True, f"{backend.rsplit('.', 2)[-2]} backend (no SMTP server used)"
    smtp_class = smtplib.SMTP_SSL if settings.EMAIL_USE_SSL else smtplib.SMTP
    with smtp_class(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=timeout) as smtp:
        code, _ = smtp.noop()
    if code != 250:
        return False, f"NOOP answered {code}"
    return True, f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"


def platform_health() -> dict[str, PartHealth]:
    timeout = settings.HEALTH_CHECK_TIMEOUT
    parts = {"database": check_database()}
    checks = {
        "ffmpeg": lambda: check_binary(settings.FFMPEG_BINARY, timeout),
        "ffprobe": lambda: check_binary(settings.FFPROBE_BINARY, timeout),
        "chain": lambda: check_chain(settings.RPC_URL, settings.CHAIN_ID, timeout),
        "ipfs": lambda: check_ipfs(settings.IPFS_BACKEND, timeout),
        "smtp": lambda: check_smtp(timeout),
    }
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        # The queue check reads the database through the ORM broker: keep it on
        # this thread's connection (and skip it when the database is down).
        if parts["database"].ok or broker_name(settings.Q_CLUSTER) == "redis":
            parts["queue"] = check_queue()
        else:
            parts["queue"] = PartHealth(ok=False, detail="ORM broker needs the database, which is down")
        for name, future in futures.items():
            parts[name] = future.result()
    return parts
