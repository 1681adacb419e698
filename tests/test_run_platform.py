"""`make run`'s supervisor: everything comes up on 127.0.0.1, and Ctrl-C leaves nothing behind."""

import os
import signal
import subprocess
import sys

import httpx
import pytest

from integrations.localnet import free_port
from tests.fixtures.anvil import require_anvil
from tests.fixtures.processes import ROOT, wait_for

pytestmark = pytest.mark.slow


def descendants(pid: int) -> set[int]:
    """Every process whose ancestry leads to `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_run_starts_everything_and_ctrl_c_stops_it(tmp_path):
    require_anvil()
    web, chain, smtp = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "FLOWCAST_WEB_PORT": str(web),
        "FLOWCAST_ANVIL_PORT": str(chain),
        "FLOWCAST_SMTP_PORT": str(smtp),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    for name in ("SECRET_KEY", "DATABASE_URL", "RPC_URL", "EMAIL_PORT", "EMAIL_HOST", "SITE_URL", "DEBUG"):
        env.pop(name, None)
    log = (tmp_path / "run.log").open("w+b")
    runner = subprocess.Popen([sys.executable, "scripts/run_platform.py"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b"Flowcast is up" in (tmp_path / "run.log").read_bytes() or runner.poll() is not None,
                 timeout=120, what="platform up")
        output = (tmp_path / "run.log").read_text()
        assert runner.poll() is None, output
        assert f"http://127.0.0.1:{web}/admin/" in output
        assert "`make demo` walks you through the whole loop" in output
        children = descendants(runner.pid)
        assert len(children) >= 5, output

        health = httpx.get(f"http://127.0.0.1:{web}/api/health", timeout=10)
        assert health.status_code == 200
        parts = health.json()["parts"]
        for name in ("database", "queue", "chain", "smtp"):
            assert parts[name]["ok"], (name, parts[name])
        admin = httpx.get(f"http://127.0.0.1:{web}/admin/login/", timeout=10)
        assert admin.status_code == 200 and b"Flowcast administration" in admin.content

        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=60) == 0
        leftovers = [pid for pid in children if alive(pid)]
        assert leftovers == [], f"processes left behind: {leftovers}"
        for port in (web, chain, smtp):
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
    finally:
        if runner.poll() is None:
            runner.kill()
        for pid in descendants(runner.pid):
            os.kill(pid, signal.SIGKILL)
