"""Issue 12 §2: user content never runs script on the app's origin.

Anyone signed in can add bytes through POST /api/ipfs/uploads and the gateway serves them back. The attack:
an HTML page (or an SVG) that, opened by a signed-in victim, reads /api/auth/csrf and mints an API token
for itself. The browser tests open the gateway link in real Chromium with the victim's session cookie and
check, on the server's side, that no token was minted and no request to /api/auth/ left the page.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ApiToken, User
from tests.fixtures.browser import wait_for

PASSWORD = "pw-a-long-one-123"

# Synchronous XHRs, so that once the document has loaded the attack has either happened or not.
STEAL = (
    "var x = new XMLHttpRequest(); x.open('GET', '/api/auth/csrf', false); x.send();"
    "var csrf = JSON.parse(x.responseText).csrf_token;"
    "var t = new XMLHttpRequest(); t.open('POST', '/api/auth/tokens', false);"
    "t.setRequestHeader('Content-Type', 'application/json'); t.setRequestHeader('X-CSRFToken', csrf);"
    "t.send(JSON.stringify({name: 'stolen'}));"
    "document.documentElement.setAttribute('data-pwned', String(t.status));"
)
EVIL_HTML = f"<!doctype html><html><head><title>cat pictures</title></head><body><script>{STEAL}</script></body></html>"
EVIL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    f"<script>{STEAL}</script><rect width='10' height='10'/></svg>"
)
EVIL_FILES = {"evil.html": EVIL_HTML, "evil.svg": EVIL_SVG, "evil.xhtml": EVIL_HTML.replace("<!doctype html><html>",
              '<html xmlns="http://www.w3.org/1999/xhtml">')}


def upload(client: Client, name: str, content: str) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/api/ipfs/uploads", {"name": name, "file": SimpleUploadedFile(name, content.encode())})
    assert response.status_code == 201, response.content
    return response.json()


def shared_link(record: dict) -> str:
    """The link an attacker shares: the record's gateway URL, with the gateway's own `filename` parameter
    naming an active type when the app's link does not already carry one."""
    url = record["gateway_url"]
    return url if "filename=" in url else f"{url}?filename={record['name']}"


@pytest.fixture
def ipfs_store(settings, media_root, tmp_path):
    settings.IPFS_BACKEND = "embedded"
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "ipfs" / "blocks"


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/signin/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("#signin button[type=submit]")
    page.wait_for_load_state()


def open_as_victim(page, url: str) -> str:
    """Navigate like a click on the link; 'download' when the browser saves it, else 'rendered'."""
    from playwright.sync_api import Error

    try:
        with page.expect_download(timeout=5_000):
            try:
                page.goto(url)
            except Error as error:  # Chromium aborts the navigation it turned into a download
                if "Download is starting" not in str(error) and "ERR_ABORTED" not in str(error):
                    raise
        return "download"
    except Error:
        page.wait_for_load_state("load")
        return "rendered"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", sorted(EVIL_FILES))
def test_uploaded_active_content_runs_no_script_with_the_viewers_session(chromium, live_server, settings, ipfs_store,
                                                                         name):
    settings.IPFS_GATEWAY_URL = f"{live_server.url}/ipfs/"
    attacker = User.objects.create_user("mallory@example.com", PASSWORD)
    victim = User.objects.create_user("victim@example.com", PASSWORD)
    client = Client()
    client.force_login(attacker)
    record = upload(client, name, EVIL_FILES[name])

    context = chromium.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, victim.email)
        auth_requests = []
        page.on("request", lambda request: "/api/auth/" in request.url and auth_requests.append(request.url))
        outcome = open_as_victim(page, shared_link(record))
        if outcome == "rendered":
            assert page.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    finally:
        context.close()
    assert auth_requests == [], f"the uploaded {name} called {auth_requests}"
    assert not ApiToken.objects.filter(user=victim).exists(), f"the uploaded {name} minted a token for its viewer"


# Every kind of gateway response, on the app's origin ------------------------------------------------------

SITE_FILES = {
    "page.html": b"<script>alert(1)</script>",
    "image.svg": EVIL_SVG.encode(),
    "feed.xml": b"<?xml version='1.0'?><x/>",
    "app.js": b"alert(1)",
    "doc.pdf": b"%PDF-1.4",
    "blob.bin": b"\x00\x01",
    "notes.txt": b"hello\n",
    "data.json": b"{}",
    "master.m3u8": b"#EXTM3U\n",
    "seg0.ts": b"G" * 188,
    "poster.png": b"\x89PNG\r\n\x1a\n",
    "clip.mp4": b"\x00\x00\x00\x18ftypisom",
    "site/index.html": b"<script>alert(1)</script>",
}
# Shown inline (passive types); all others must leave as attachments.
INLINE = {"notes.txt", "data.json", "master.m3u8", "seg0.ts", "poster.png", "clip.mp4"}


def response_body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def folder_cid(ipfs_store, tmp_path):
    from pinning.services import ipfs_node

    root = tmp_path / "folder"
    for name, data in SITE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return ipfs_node().add_directory(root).cid_str


def assert_confined(response, *, separate_origin: bool = False):
    policy = response["Content-Security-Policy"]
    assert policy.split()[0] == "sandbox", policy
    assert "allow-same-origin" not in policy
    assert ("allow-scripts" in policy) == separate_origin
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(SITE_FILES))
def test_files_are_sandboxed_and_only_passive_types_are_inline(client, folder_cid, name):
    url = f"/ipfs/{folder_cid}/{name}"
    for response in (client.get(url), client.head(url), client.get(url, HTTP_RANGE="bytes=0-0")):
        assert response.status_code in (200, 206), response
        assert_confined(response)
        disposition = response.get("Content-Disposition", "")
        if name in INLINE:
            assert not disposition.startswith("attachment"), (name, disposition)
        else:
            assert disposition.startswith("attachment"), (name, response["Content-Type"], disposition)


@pytest.mark.django_db
def test_a_filename_naming_an_active_type_gets_an_attachment_not_inline(client, ipfs_store):
    from pinning.services import ipfs_node

    cid = ipfs_node().add_bytes(EVIL_HTML.encode()).cid_str
    for query in ("?filename=a.html", "?filename=a.svg", "?filename=a.xhtml", "?filename=a.js", "", "?filename=a.txt"):
        response = client.get(f"/ipfs/{cid}{query}")
        assert_confined(response)
        inline = query == "?filename=a.txt"
        assert response["Content-Disposition"].startswith("inline" if inline else "attachment"), query
    assert response_body(client.get(f"/ipfs/{cid}?filename=a.txt")) == EVIL_HTML.encode()


@pytest.mark.django_db
def test_listings_raw_car_errors_redirects_and_not_modified_are_sandboxed(client, folder_cid):
    listing = client.get(f"/ipfs/{folder_cid}/")
    assert listing.status_code == 200 and listing["Content-Type"].startswith("text/html")
    assert_confined(listing)
    assert "Content-Disposition" not in listing  # our own escaped listing renders (without script)
    responses = {
        "raw": client.get(f"/ipfs/{folder_cid}?format=raw"),
        "car": client.get(f"/ipfs/{folder_cid}?format=car"),
        "directory redirect": client.get(f"/ipfs/{folder_cid}"),
        "not modified": client.get(f"/ipfs/{folder_cid}/notes.txt",
                                   HTTP_IF_NONE_MATCH=client.get(f"/ipfs/{folder_cid}/notes.txt")["Etag"]),
        "invalid CID": client.get("/ipfs/not-a-cid"),
        "missing path": client.get(f"/ipfs/{folder_cid}/nope.html"),
        "dot segments": client.get(f"/ipfs/{folder_cid}/a/../page.html"),
        "bad format": client.get(f"/ipfs/{folder_cid}?format=tar"),
        "method": client.post(f"/ipfs/{folder_cid}/"),
        "range": client.get(f"/ipfs/{folder_cid}/notes.txt", HTTP_RANGE="bytes=999-"),
    }
    statuses = {kind: response.status_code for kind, response in responses.items()}
    assert statuses == {"raw": 200, "car": 200, "directory redirect": 301, "not modified": 304, "invalid CID": 400,
                        "missing path": 404, "dot segments": 400, "bad format": 400, "method": 405, "range": 416}
    for response in responses.values():
        assert_confined(response)
    assert responses["raw"]["Content-Disposition"].startswith("attachment")
    assert responses["car"]["Content-Disposition"].startswith("attachment")


# The separate gateway origin (Kubo's subdomain gateway) ---------------------------------------------------

GATEWAY_HOST = "ipfs.localhost:8000"


@pytest.fixture
def gateway_origin(settings):
    settings.IPFS_GATEWAY_ORIGIN = f"http://{GATEWAY_HOST}"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".ipfs.localhost"]


def v1(cid: str) -> str:
    from integrations.ipfs.cid import cid_parse, cid_to_str, cid_to_v1

    return cid_to_str(cid_to_v1(cid_parse(cid)))


@pytest.mark.django_db
def test_subdomain_gateway_serves_each_cid_on_its_own_origin(client, folder_cid, gateway_origin):
    host = f"{v1(folder_cid)}.{GATEWAY_HOST}"
    page = client.get("/site/", HTTP_HOST=host)
    assert page.status_code == 200 and response_body(page) == SITE_FILES["site/index.html"]
    listing = response_body(client.get("/", HTTP_HOST=host)).decode()
    assert 'href="/ipfs/' not in listing and f".{GATEWAY_HOST}/" in listing  # its CIDs link to their subdomains
    assert "Content-Disposition" not in page  # HTML renders here: an origin without our cookies
    assert_confined(page, separate_origin=True)
    svg = client.get("/image.svg", HTTP_HOST=host)
    assert svg["Content-Type"] == "image/svg+xml" and "Content-Disposition" not in svg
    assert_confined(svg, separate_origin=True)
    segment = client.get("/seg0.ts", HTTP_HOST=host, HTTP_RANGE="bytes=0-9")
    assert segment.status_code == 206 and response_body(segment) == SITE_FILES["seg0.ts"][:10]
    # the app is not there: no API, no session, no CSRF cookie
    not_app = client.get("/api/auth/csrf", HTTP_HOST=host)
    assert not_app.status_code == 404 and "csrftoken" not in not_app.cookies
    assert_confined(not_app, separate_origin=True)


@pytest.mark.django_db
def test_path_requests_on_the_gateway_host_redirect_to_the_cidv1_subdomain(client, folder_cid, gateway_origin):
    assert folder_cid.startswith("Qm")
    response = client.get(f"/ipfs/{folder_cid}/site/?x=1", HTTP_HOST=GATEWAY_HOST)
    assert response.status_code == 301
    assert response["Location"] == f"http://{v1(folder_cid)}.{GATEWAY_HOST}/site/?x=1"
    assert_confined(response, separate_origin=True)
    assert client.get("/", HTTP_HOST=GATEWAY_HOST).status_code == 404
    assert client.get("/ipfs/nonsense/", HTTP_HOST=GATEWAY_HOST).status_code == 400
    # a CIDv0 cannot be a host name (case-insensitive); nor can a label that is no CID
    assert client.get("/", HTTP_HOST=f"{folder_cid.lower()}.{GATEWAY_HOST}").status_code == 400
    assert client.get("/", HTTP_HOST=f"a.b.{GATEWAY_HOST}").status_code == 404
    # the app's own host is untouched
    assert client.get(f"/ipfs/{folder_cid}/notes.txt").status_code == 200


@pytest.mark.django_db
def test_links_the_app_hands_out_use_the_gateway_origin(client, ipfs_store, gateway_origin):
    attacker = User.objects.create_user("mallory@example.com", PASSWORD)
    client.force_login(attacker)
    record = upload(client, "evil.html", EVIL_HTML)
    assert record["gateway_url"] == f"http://{v1(record['cid'])}.{GATEWAY_HOST}/?filename=evil.html"


def test_the_gateway_origin_must_be_apart_from_the_apps():
    from django.core.exceptions import ImproperlyConfigured

    from config.env import gateway_host

    assert gateway_host("http://ipfs.localhost:8000", site_url="http://127.0.0.1:8000") == "ipfs.localhost"
    for origin, site in [("https://example.com", "https://app.example.com"),
                         ("http://localhost:8000", "http://localhost:8000"),
                         ("http://ipfs.localhost/ipfs/", "http://127.0.0.1"),
                         ("ftp://ipfs.localhost", "http://127.0.0.1")]:
        with pytest.raises(ImproperlyConfigured):
            gateway_host(origin, site_url=site)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_html_on_the_gateway_origin_renders_but_cannot_act_as_the_viewer(chromium, live_server, settings, ipfs_store):
    port = live_server.url.rsplit(":", 1)[1]
    settings.IPFS_GATEWAY_ORIGIN = f"http://ipfs.localhost:{port}"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".ipfs.localhost"]
    attacker = User.objects.create_user("mallory@example.com", PASSWORD)
    victim = User.objects.create_user("victim@example.com", PASSWORD)
    client = Client()
    client.force_login(attacker)
    marker = "document.documentElement.setAttribute('data-ran', 'yes');"
    record = upload(client, "evil.html", EVIL_HTML.replace("<script>", f"<script>{marker}"))
    assert ".ipfs.localhost:" in record["gateway_url"]

    context = chromium.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, victim.email)
        tokens_posted = []
        page.on("request", lambda request: "/api/auth/tokens" in request.url and request.method == "POST"
                and tokens_posted.append(request.url))
        assert open_as_victim(page, record["gateway_url"]) == "rendered"
        assert page.evaluate("document.documentElement.getAttribute('data-ran')") == "yes"  # it is a web page there
        assert page.evaluate("document.documentElement.getAttribute('data-pwned')") is None
        read_cookie = "(() => { try { return document.cookie; } catch (e) { return 'blocked'; } })()"
        assert page.evaluate(read_cookie) == "blocked"
    finally:
        context.close()
    assert tokens_posted == []
    assert not ApiToken.objects.filter(user=victim).exists()


def test_make_run_serves_user_content_on_ipfs_localhost():
    from config.env import gateway_host
    from scripts.run_platform import platform_env

    env = platform_env({"FLOWCAST_WEB_PORT": "8123"})[0]
    assert env["IPFS_GATEWAY_ORIGIN"] == "http://ipfs.localhost:8123"
    assert gateway_host(env["IPFS_GATEWAY_ORIGIN"], site_url=env["SITE_URL"]) == "ipfs.localhost"


# The app's own pages --------------------------------------------------------------------------------------

def test_no_template_has_inline_script_or_style():
    """The pages' CSP allows scripts and styles from our static files only: an inline one would be blocked.
    (The email preview pages allow inline style for the emails they show: notifications/admin.py.)"""
    import re
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    templates = [*(root / "templates").rglob("*.html"), *root.glob("*/templates/**/*.html")]
    assert any("notifications" in template.parts for template in templates)
    offenders = []
    for template in templates:
        if "emails" in template.parts:
            continue  # mail clients, not browsers on our origin
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template}: {tag}")
        offenders += [f"{template}: {match}" for match in re.findall(r"\son[a-z]+=", text)]
        if template.name != "mailbox_message.html":
            offenders += [f"{template}: {match}" for match in re.findall(r"<style\b|\sstyle=", text)]
    assert offenders == []


@pytest.mark.django_db
def test_pages_and_admin_send_the_apps_content_security_policy(client, admin_user):
    pages = [client.get("/signin/"), client.get("/admin/login/")]
    client.force_login(admin_user)
    pages += [client.get(url) for url in ("/", "/studio/", "/admin/", "/admin/media_pipeline/video/", "/api/docs")]
    for response in pages:
        url = response.request["PATH_INFO"]
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
        assert directives["script-src"] == ["'self'"], url
        assert "'unsafe-inline'" not in directives["style-src"] and "'unsafe-eval'" not in directives["script-src"]
        assert directives["frame-ancestors"] == ["'none'"] and response["X-Frame-Options"] == "DENY"
        assert set(directives["media-src"]) == {"'self'", "blob:"}  # hls.js plays through MediaSource
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "cdn." not in response.content.decode()  # every script from our own static files


# In Chromium: our pages work under their CSP, and HLS still plays from the gateway -----------------------

PLAY_HLS = """async (url) => {
    const video = document.createElement('video');
    video.muted = true;
    document.body.appendChild(video);
    const hls = new Hls({ enableWorker: true });
    const failures = [];
    hls.on(Hls.Events.ERROR, (event, data) => { if (data.fatal) failures.push(data.details); });
    hls.loadSource(url);
    hls.attachMedia(video);
    await new Promise((resolve) => hls.on(Hls.Events.MANIFEST_PARSED, resolve));
    await video.play();
    await new Promise((resolve) => { const check = () => video.currentTime > 1 || failures.length
        ? resolve() : setTimeout(check, 100); check(); });
    return { time: video.currentTime, failures, levels: hls.levels.length };
}"""


def csp_violations(page) -> list[str]:
    found = []
    page.on("console", lambda message: "Content Security Policy" in message.text and found.append(message.text))
    return found


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_pages_run_in_chromium_without_csp_violations(chromium, live_server, settings, ipfs_store, make_clip,
                                                      tmp_path):
    from pinning.gateway import content_url
    from pinning.services import ipfs_node
    from tests.ipfs.hls import make_hls_folder

    port = live_server.url.rsplit(":", 1)[1]
    settings.IPFS_GATEWAY_ORIGIN = f"http://ipfs.localhost:{port}"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".ipfs.localhost"]
    import shutil

    from media_pipeline.models import Video

    hls_folder = make_hls_folder(make_clip(seconds=4), tmp_path / "hls")
    hls_cid = ipfs_node().add_directory(hls_folder).cid_str
    staff = User.objects.create_superuser("staff@example.com", PASSWORD)
    # a published video made by ffmpeg directly (this needs no ffprobe), for the watch page and the admin preview
    shutil.copytree(hls_folder, settings.MEDIA_ROOT / "videos" / "1" / "hls")
    video = Video.objects.create(owner=staff, title="under CSP", visibility="public", status="ready",
                                 hls_path="videos/1/hls", duration=4)
    context = chromium.new_context()
    try:
        page = context.new_page()
        violations = csp_violations(page)
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "staff@example.com")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        for path in ("/admin/media_pipeline/video/", "/admin/media_pipeline/video/add/", "/studio/", "/"):
            page.goto(live_server.url + path)
            page.wait_for_load_state("load")
        for path in (f"/watch/{video.pk}", f"/admin/media_pipeline/video/{video.pk}/change/"):  # the player plays
            page.goto(live_server.url + path)
            wait_for(page, "window.flowcastPlayer && window.flowcastPlayer.levels.length > 0")
            page.click("#play")
            wait_for(page, "document.getElementById('video').currentTime > 1", timeout=30_000)
            assert page.evaluate("flowcastPlayer.fatalError") is None
        page.goto(f"{live_server.url}/api/docs")
        page.wait_for_selector(".swagger-ui .info .title")  # the docs' scripts ran
        # hls.js under the app's own CSP (MediaSource blob: media, a blob: worker), from the gateway on our origin
        page.goto(f"{live_server.url}/")
        page.add_script_tag(url=f"{live_server.url}/static/vendor/hls.js/hls.min.js")
        assert page.evaluate("typeof Hls") == "function", violations
        played = page.evaluate(PLAY_HLS, f"{live_server.url}/ipfs/{hls_cid}/master.m3u8")
        assert played["failures"] == [] and played["time"] > 1 and played["levels"] == 2, played
        assert violations == [], violations

        # a player page hosted on IPFS itself, streaming another CID from the separate gateway origin (CORS)
        player_page = (f'<!doctype html><title>player</title>'
                       f'<script src="{live_server.url}/static/vendor/hls.js/hls.min.js"></script>').encode()
        other = context.new_page()
        other.goto(content_url(ipfs_node().add_bytes(player_page).cid_str, filename="player.html"))
        played = other.evaluate(PLAY_HLS, f"http://{v1(hls_cid)}.ipfs.localhost:{port}/master.m3u8")
        assert played["failures"] == [] and played["time"] > 1, played
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_email_previews_keep_their_inline_style_but_run_no_script(chromium, live_server):
    """Emails are styled inline (mail clients need it); the admin shows them in a sandboxed srcdoc iframe,
    which inherits the page's CSP. Those pages allow inline style, never script."""
    from notifications.models import OutboundEmail

    User.objects.create_superuser("staff@example.com", PASSWORD)
    email = OutboundEmail.objects.create(
        recipient="ada@example.com", template="test", subject="styled", body_text="hi", idempotency_key="k",
        message_id="<k@example.com>", body_html='<p id="styled" style="color: rgb(255, 0, 0)">hi</p>'
                                             "<script>parent.document.title = 'pwned'</script>")
    context = chromium.new_context()
    try:
        page = context.new_page()
        violations = csp_violations(page)
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "staff@example.com")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        page.goto(f"{live_server.url}/admin/notifications/outboundemail/{email.pk}/change/")
        frame = page.frame_locator("iframe[title='HTML part']")
        assert frame.locator("#styled").evaluate("el => getComputedStyle(el).color") == "rgb(255, 0, 0)"
        assert page.locator("iframe[title='HTML part']").evaluate("el => el.getBoundingClientRect().height") > 400
        assert page.title() != "pwned"
        policy = page.evaluate("fetch(location.href).then(r => r.headers.get('Content-Security-Policy'))")
        directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
        assert directives["script-src"] == ["'self'"] and "'unsafe-inline'" in directives["style-src"]
        assert [v for v in violations if "script" not in v] == [], violations
    finally:
        context.close()
