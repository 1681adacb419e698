"""The production web tier as shipped: `scripts/run_production.py` (`make run-prod`) starts nginx from
deploy/nginx/ in front of gunicorn (deploy/gunicorn.conf.py) and two django-q2 clusters on the test database, and
every request below goes through nginx as a client's would."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings

from integrations.localnet import free_port
from tests.fixtures.processes import ROOT, ManagedProcess, missing_part, wait_for
from tests.fixtures.qcluster import child_environment

pytestmark = pytest.mark.slow

SEGMENT = bytes(range(256)) * 40  # 10,240 bytes
MEDIA_LIMIT = 64 * 1024 * 1024
IPFS_LIMIT = 8 * 1024 * 1024
# What `nginx -e` and the config write when a request body goes to client_body_temp_path instead of upstream.
BUFFERED_TO_DISK = "buffered to a temporary file"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None)


@dataclass
class WebTier:
    url: str
    gunicorn_url: str
    port: int
    data_dir: Path
    upload_tmp: Path
    access_log: Path
    process: ManagedProcess

    @property
    def nginx_dir(self) -> Path:
        return self.data_dir / "web-tier" / "nginx"

    @property
    def media_root(self) -> Path:
        return self.data_dir / "media"

    def gunicorn_requests(self) -> str:
        return self.access_log.read_text() if self.access_log.exists() else ""

    def nginx_errors(self) -> str:
        return (self.nginx_dir / "logs" / "error.log").read_text()


@pytest.fixture(scope="module")
def web_tier(django_db_setup, django_db_blocker, tmp_path_factory):
    if not nginx_binary():
        missing_part("nginx is not installed", part="nginx", install="apt-get install nginx")
    base = tmp_path_factory.mktemp("web-tier")
    data_dir, upload_tmp = base / "data", base / "upload-tmp"
    upload_tmp.mkdir()
    port, app_port = free_port(), free_port()
    with django_db_blocker.unblock():
        env = child_environment(
            DATA_DIR=str(data_dir),
            FLOWCAST_NGINX_PORT=str(port),
            FLOWCAST_GUNICORN_PORT=str(app_port),
            WEB_CONCURRENCY="1",
            GUNICORN_THREADS="4",
            GUNICORN_ACCESS_LOG=str(base / "gunicorn-access.log"),
            TMPDIR=str(upload_tmp),
            MEDIA_MAX_UPLOAD_BYTES=str(MEDIA_LIMIT),
            IPFS_UPLOAD_MAX_BYTES=str(IPFS_LIMIT),
            Q_WORKERS="1",
        )
    # The launcher's own defaults, not whatever this shell had.
    for name in ("SITE_URL", "IPFS_GATEWAY_ORIGIN", "NINJA_NUM_PROXIES", "SECURE_PROXY_SSL_HEADER", "DEBUG",
                 "PLAYBACK_ACCEL_REDIRECT_PREFIX", "STATIC_ROOT", "MEDIA_ROOT", "GUNICORN_BIND"):
        env.pop(name, None)
    env["PATH"] = env.get("PATH", "") + ":" + str(Path(nginx_binary()).parent)
    launcher = ManagedProcess([sys.executable, str(ROOT / "scripts" / "run_production.py")], env=env,
                              log_path=base / "run-prod.log").start()
    try:
        wait_for(lambda: "production web tier is up" in launcher.log_tail(400) or not launcher.running,
                 timeout=240, interval=0.5, what="make run-prod up")
        assert launcher.running, launcher.log_tail(60)
        yield WebTier(url=f"http://127.0.0.1:{port}", gunicorn_url=f"http://127.0.0.1:{app_port}", port=port,
                      data_dir=data_dir, upload_tmp=upload_tmp, access_log=base / "gunicorn-access.log",
                      process=launcher)
    finally:
        # SIGTERM to the launcher: it stops nginx, gunicorn and both clusters, each in its own session.
        launcher.stop(timeout=90)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_pages_and_health_answer_through_nginx(web_tier):
    home = httpx.get(web_tier.url + "/", timeout=30)
    assert home.status_code == 200 and home.headers["server"] == "nginx"
    assert b"Flowcast" in home.content
    health = httpx.get(web_tier.url + "/api/health", timeout=30)
    assert health.status_code == 200, health.text
    assert health.json()["parts"]["database"]["ok"] is True
    # DEBUG is off: a missing page is the plain 404, not Django's page listing the URLconf.
    missing = httpx.get(web_tier.url + "/no-such-page", timeout=30)
    assert missing.status_code == 404 and b"URLconf" not in missing.content
    # The launcher generated no key of its own here: the test run's SECRET_KEY was given.
    assert not (web_tier.data_dir / "secret_key").exists()


def test_static_files_are_served_by_nginx_from_static_root(web_tier):
    path = "/static/admin/css/base.css"
    response = httpx.get(web_tier.url + path, timeout=30)
    assert response.status_code == 200
    assert response.content == (web_tier.data_dir / "static" / "admin" / "css" / "base.css").read_bytes()
    assert "max-age=604800" in response.headers["cache-control"] and response.headers["etag"]
    assert response.headers["content-type"].startswith("text/css")
    revalidated = httpx.get(web_tier.url + path, headers={"If-None-Match": response.headers["etag"]}, timeout=30)
    assert revalidated.status_code == 304
    # gunicorn never saw them, and would not serve them (DEBUG off).
    assert "/static/" not in web_tier.gunicorn_requests()
    assert httpx.get(web_tier.gunicorn_url + path, timeout=30).status_code == 404


@pytest.fixture
def public_video(web_tier, transactional_db):
    from accounts.models import User
    from media_pipeline.models import Video

    owner = User.objects.create_user(email="owner@example.com", password="x")
    video = Video.objects.create(owner=owner, title="public", visibility="public", status="ready", duration=30)
    video.hls_path = f"videos/{video.pk}/hls"
    video.save(update_fields=["hls_path"])
    folder = web_tier.media_root / video.hls_path / "360p"
    folder.mkdir(parents=True)
    (folder / "seg0.ts").write_bytes(SEGMENT)
    (web_tier.media_root / "secret.txt").write_text("never served as a folder")
    return video


def test_signed_playback_is_delivered_by_nginx_through_x_accel_redirect(web_tier, public_video):
    from media_pipeline.playback import media_url

    url = media_url(video=public_video, path=f"{public_video.hls_path}/360p/seg0.ts")
    # The app checks the link and hands the file to nginx: a header, no bytes.
    from_app = httpx.get(web_tier.gunicorn_url + url, timeout=30)
    assert from_app.status_code == 200 and from_app.content == b""
    assert from_app.headers["x-accel-redirect"] == f"/protected-media/{public_video.hls_path}/360p/seg0.ts"

    whole = httpx.get(web_tier.url + url, timeout=30)
    assert whole.status_code == 200 and whole.content == SEGMENT
    assert whole.headers["content-type"] == "video/mp2t"
    assert whole.headers["cache-control"].startswith("private, max-age=")
    assert "x-accel-redirect" not in whole.headers
    part = httpx.get(web_tier.url + url, headers={"Range": "bytes=100-299"}, timeout=30)
    assert part.status_code == 206 and part.content == SEGMENT[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{len(SEGMENT)}"

    # The internal location is nobody's URL, and the app still refuses bad links.
    assert httpx.get(f"{web_tier.url}/protected-media/{public_video.hls_path}/360p/seg0.ts",
                     timeout=30).status_code == 404
    assert httpx.get(f"{web_tier.url}/protected-media/secret.txt", timeout=30).status_code == 404
    forged = url.replace(f"/play/{public_video.pk}/0-", f"/play/{public_video.pk}/0-1")
    assert httpx.get(web_tier.url + forged, timeout=30).status_code == 403


def sign_in(base_url: str, *, email: str, password: str, forwarded_for: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        token = client.get("/api/auth/csrf").json()["csrf_token"]
        return client.post("/api/auth/login", json={"email": email, "password": password},
                           headers={"X-CSRFToken": token, "X-Forwarded-For": forwarded_for,
                                    # Were it believed (SECURE_PROXY_SSL_HEADER), Django's https-only Referer
                                    # check would refuse these sign-ins with 403: nginx overwrites it.
                                    "X-Forwarded-Proto": "https"})


def test_a_forged_forwarded_for_does_not_change_the_address_the_app_counts(web_tier, transactional_db):
    """Login lockout per address (NINJA_NUM_PROXIES=1): failures sent with a different forged X-Forwarded-For each
    still count against the one real peer, 127.0.0.1, which is then refused even for a right password. The forged
    X-Forwarded-Proto they carry is not believed either."""
    from accounts.models import User

    User.objects.create_user(email="right@example.com", password="the-right-password-1")
    limit = django_settings.AXES_FAILURE_LIMIT
    failures = [sign_in(web_tier.url, email=f"nobody{attempt}@example.com", password="wrong",
                        forwarded_for=f"203.0.113.{attempt + 1}") for attempt in range(limit)]
    # Every failure is a different account from a different claimed address; the one that reaches the limit
    # already answers with the lockout.
    assert [failure.status_code for failure in failures[:-1]] == [401] * (limit - 1), failures[-2].text
    locked = sign_in(web_tier.url, email="right@example.com", password="the-right-password-1",
                     forwarded_for="198.51.100.7")
    assert locked.status_code == 429, locked.text
    assert locked.json()["code"] == "locked_out"
    if django_settings.AXES_HANDLER.endswith("DatabaseHandler"):
        from axes.models import AccessAttempt

        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def multipart(fields: dict[str, str], *, file_name: str) -> tuple[str, bytes, bytes]:
    """(boundary, everything before the file's bytes, everything after): the file itself is sent in pieces."""
    boundary = "flowcast-web-tier-test"
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n")
    return boundary, head.encode(), f"\r\n--{boundary}--\r\n".encode()


def open_upload(web_tier: WebTier, path: str, *, token: str, boundary: str, length: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", web_tier.port), timeout=60)
    # A small send buffer: the client's bytes leave as nginx takes them, like a slow uplink's.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{web_tier.port}\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n"
                  "Connection: close\r\n\r\n").encode())
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict]:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        decoded = b""
        while body:
            size_line, _, rest = body.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            decoded, body = decoded + rest[:size], rest[size + 2:]
        body = decoded
    return status, json.loads(body)


def upload_token(transactional_db) -> str:
    from accounts.models import User
    from accounts.services import api_token_create

    user = User.objects.create_user(email="uploader@example.com", password="x")
    return api_token_create(user=user, name="web tier test")[1]


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_large_upload_streams_through_nginx_to_the_app(web_tier, transactional_db):
    """30 MB: the app's temporary file grows while the client is still sending (nginx passes the body on as it
    arrives) and nginx writes none of it to its client_body_temp_path."""
    from media_pipeline.models import Video

    token = upload_token(transactional_db)
    size = 30 * 1024 * 1024
    content = (b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * (size // 256))[:size]  # an mp4 box, then filler
    boundary, head, tail = multipart({"title": "big", "visibility": "private"}, file_name="big.mp4")
    sock = open_upload(web_tier, "/api/videos/", token=token, boundary=boundary,
                       length=len(head) + size + len(tail))
    sock.sendall(head)
    first = 20 * 1024 * 1024
    for offset in range(0, first, 256 * 1024):
        sock.sendall(content[offset:offset + 256 * 1024])
    # Two thirds sent, the rest held back: the app already holds more than nginx's buffers could.
    wait_for(lambda: any(path.stat().st_size >= 8 * 1024 * 1024 for path in files_under(web_tier.upload_tmp)),
             timeout=60, what="the app's temporary upload file growing before the body ended")
    assert files_under(web_tier.nginx_dir / "temp" / "client_body") == []
    sock.sendall(content[first:] + tail)
    status, body = read_response(sock)
    assert status == 201, body
    video = Video.objects.get(pk=body["id"])
    assert video.source_size == size
    assert (web_tier.media_root / video.source.name).read_bytes() == content
    assert BUFFERED_TO_DISK not in web_tier.nginx_errors()
    assert files_under(web_tier.nginx_dir / "temp" / "client_body") == []


def test_an_upload_over_the_apps_limit_gets_its_413_in_the_api_error_shape(web_tier, transactional_db):
    token = upload_token(transactional_db)
    # Past IPFS_UPLOAD_MAX_BYTES (plus the 1 MiB form allowance) but well within nginx's limit: the app answers,
    # from the announced length, before the body arrives.
    size = IPFS_LIMIT + 2 * 1024 * 1024
    boundary, head, tail = multipart({"name": "big.bin"}, file_name="big.bin")
    sock = open_upload(web_tier, "/api/ipfs/uploads", token=token, boundary=boundary,
                       length=len(head) + size + len(tail))
    # Only the start of the body: the answer comes while the client could still be sending.
    sock.sendall(head + b"\x00" * 65536)
    status, body = read_response(sock)
    assert status == 413, body
    assert body["code"] == "too_large" and set(body) == {"code", "message", "fields"}
    assert f"the largest allowed is {IPFS_LIMIT} bytes" in body["message"]
    # gunicorn logs a request once it has finished with it.
    wait_for(lambda: 'POST /api/ipfs/uploads HTTP/1.1" 413' in web_tier.gunicorn_requests(), timeout=30,
             what="the app's 413 in gunicorn's access log")


def test_a_body_past_nginx_limit_is_refused_there_in_the_same_shape(web_tier):
    gunicorn_seen = web_tier.gunicorn_requests().count("/api/videos/too-big")
    sock = open_upload(web_tier, "/api/videos/too-big", token="unused", boundary="unused", length=MEDIA_LIMIT * 4)
    status, body = read_response(sock)
    assert status == 413, body
    assert body["code"] == "too_large" and set(body) == {"code", "message", "fields"}
    assert web_tier.gunicorn_requests().count("/api/videos/too-big") == gunicorn_seen


def test_the_gateway_origin_is_proxied_to_the_app(web_tier):
    response = httpx.get(web_tier.url + "/", headers={"Host": f"notacid.ipfs.localhost:{web_tier.port}"}, timeout=30)
    # The app's subdomain gateway answered (Host went through as the client sent it).
    assert response.status_code == 400 and b"not a CID" in response.content
    # The app's origin's files are not reachable from the gateway's.
    static = httpx.get(web_tier.url + "/static/admin/css/base.css",
                       headers={"Host": f"ipfs.localhost:{web_tier.port}"}, timeout=30)
    assert b"#header" not in static.content


def test_both_clusters_take_tasks(web_tier, transactional_db):
    from django_q.tasks import async_task, fetch

    default = async_task("math.floor", 2.5)
    long = async_task("math.floor", 7.5, cluster=django_settings.TRANSCODE_CLUSTER)
    assert wait_for(lambda: fetch(default), timeout=60, what="default cluster's result").result == 2
    assert wait_for(lambda: fetch(long), timeout=60, what="long cluster's result").result == 7


@pytest.mark.parametrize("gateway", ["", "https://ipfs.example.net"])
def test_the_site_rendered_for_a_deployment_follows_its_settings_and_nginx_accepts_it(tmp_path, gateway):
    """`run_production.py nginx-site`: the site for a real host, checked by `nginx -t` as the launcher checks it."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATA_DIR": str(tmp_path / "data"),
           "SITE_URL": "https://video.example.com", "IPFS_GATEWAY_ORIGIN": gateway, "NINJA_NUM_PROXIES": "1",
           "MEDIA_MAX_UPLOAD_BYTES": str(MEDIA_LIMIT), "IPFS_UPLOAD_MAX_BYTES": str(IPFS_LIMIT),
           "NGINX_LISTEN": "127.0.0.1:8443"}
    env.pop("DATABASE_URL", None)
    rendered = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_production.py"), "nginx-site"], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr
    site = rendered.stdout
    assert "{{" not in site and "server_name video.example.com;" in site
    assert f"client_max_body_size {MEDIA_LIMIT + 2 * 1024 * 1024};" in site
    assert f"alias {tmp_path / 'data' / 'static'}/;" in site and f"alias {tmp_path / 'data' / 'media'}/;" in site
    assert ("server_name .ipfs.example.net;" in site) == bool(gateway)
    assert "NINJA_NUM_PROXIES" not in rendered.stderr  # set as the config expects: no note

    nginx = nginx_binary()
    if not nginx:
        missing_part("nginx is not installed", part="nginx", install="apt-get install nginx")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import run_production
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    prefix = tmp_path / "nginx"
    config = run_production.write_nginx_config(nginx, prefix, site)
    checked = subprocess.run(run_production.nginx_command(nginx, prefix, config, test=True), capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
