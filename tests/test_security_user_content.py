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
def ipfs_store(settings, tmp_path):
    settings.IPFS_BACKEND = "embedded"
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "ipfs" / "blocks"
    settings.MEDIA_ROOT = tmp_path / "media"


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
