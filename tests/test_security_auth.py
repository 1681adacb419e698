"""Issue 12 §4: authentication under attack.

- Per-address counts read the client's address through core.http.client_ip: X-Forwarded-For is
  trusted only from NINJA_NUM_PROXIES proxies (default 0), so rotating it buys nothing.
- Every login path (API, /signin/, /admin/login/) locks out per account and per address (django-axes),
  and a locked-out account is refused even with the right password.
- API tokens carry scopes; a token cannot mint tokens without `manage-tokens`, nor grant more than it has.
- Changing a password revokes the user's other sessions and every API token.
- Numbers in a SIWE message (and elsewhere in requests) are ASCII digits only: anything else is a 4xx.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.test import Client

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from tests.api_inventory import api_operations

pytestmark = pytest.mark.django_db

PASSWORD = "velvet-harbour-91-lantern"
NEW_PASSWORD = "quiet-orchard-47-compass"


@pytest.fixture
def ada():
    return User.objects.create_user(email="ada@example.com", password=PASSWORD)


def csrf_client(**defaults) -> tuple[Client, dict]:
    client = Client(enforce_csrf_checks=True, **defaults)
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    return client, {"HTTP_X_CSRFTOKEN": token}


def api_login(client, headers, email, password, **meta):
    return client.post("/api/auth/login", {"email": email, "password": password}, content_type="application/json",
                       **headers, **meta)


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["message"], body
    if code:
        assert body["code"] == code, body
    return body


# -- X-Forwarded-For and the throttles --------------------------------------------------------------


def test_rotating_x_forwarded_for_does_not_bypass_the_login_throttle(ada, settings):
    settings.AUTH_THROTTLE_RATE = "3/m"
    client, headers = csrf_client()
    for n in range(3):
        assert api_login(client, headers, "ada@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code == 401
    right = api_login(client, headers, "ada@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert_error_shape(right, 429, "throttled")
    assert client.get("/api/auth/me").status_code == 401  # the right password did not sign in while throttled


def test_behind_one_trusted_proxy_only_the_proxys_entry_counts(ada, settings):
    """The proxy appends the address it saw; whatever the client wrote to the left is not trusted."""
    settings.AUTH_THROTTLE_RATE = "3/m"
    settings.NINJA_NUM_PROXIES = 1
    client, headers = csrf_client()
    for n in range(3):
        spoofed = f"10.0.0.{n}, 203.0.113.5"
        assert api_login(client, headers, "ada@example.com", "wrong", HTTP_X_FORWARDED_FOR=spoofed).status_code == 401
    throttled = api_login(client, headers, "ada@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5")
    assert_error_shape(throttled, 429, "throttled")
    # another client behind the same proxy has its own count
    other = api_login(client, headers, "ada@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert other.status_code == 200


def test_client_ip_trusts_only_the_configured_proxies(rf, settings):
    from core.http import client_ip

    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2, 3.3.3.3")
    settings.NINJA_NUM_PROXIES = 0
    assert client_ip(request) == "127.0.0.1"
    settings.NINJA_NUM_PROXIES = 1
    assert client_ip(request) == "3.3.3.3"
    settings.NINJA_NUM_PROXIES = 2
    assert client_ip(request) == "2.2.2.2"
    settings.NINJA_NUM_PROXIES = 9  # more proxies than entries: the leftmost, never past it
    assert client_ip(request) == "1.1.1.1"


def test_the_lockout_counts_the_same_client_address_as_the_throttles(lockout):
    """django-axes reads the address through core.http.client_ip too (AXES_CLIENT_IP_CALLABLE)."""
    client, headers = csrf_client()
    for n in range(3):  # no trusted proxy: a rotating X-Forwarded-For is still one address
        api_login(client, headers, f"nobody{n}@example.com", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    locked = api_login(client, headers, "bob@example.com", "guess", HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert_error_shape(locked, 429, "locked_out")

    lockout.NINJA_NUM_PROXIES = 1  # behind one proxy: the address it appended, whatever the client wrote
    for n in range(3):
        api_login(client, headers, f"other{n}@example.com", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.9")
    locked = api_login(client, headers, "carol@example.com", "guess", HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.9")
    assert_error_shape(locked, 429, "locked_out")
    assert api_login(client, headers, "dave@example.com", "guess", HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 401


# -- lockout on every login path ----------------------------------------------------------------------


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AUTH_THROTTLE_RATE = "1000/m"  # the lockout, not the throttle, is under test here
    return settings


def page_login(client, url, email, password, **meta):
    return client.post(url, {"username": email, "password": password}, **meta)


def test_api_login_locks_the_account_out_even_with_the_right_password(ada, lockout):
    client, headers = csrf_client()
    codes = [api_login(client, headers, "ada@example.com", "wrong").status_code for _ in range(2)]
    assert codes == [401, 401]
    assert_error_shape(api_login(client, headers, "ada@example.com", "wrong"), 429, "locked_out")
    body = assert_error_shape(api_login(client, headers, "ada@example.com", PASSWORD), 429, "locked_out")
    assert "try again" in body["message"]
    assert client.get("/api/auth/me").status_code == 401


def test_lockout_is_per_account_whatever_the_address(ada, lockout):
    for n in range(3):
        client, headers = csrf_client(REMOTE_ADDR=f"192.0.2.{n + 1}")
        api_login(client, headers, "ADA@example.com ", "wrong")  # spelling variants are one account
    client, headers = csrf_client(REMOTE_ADDR="192.0.2.200")
    assert_error_shape(api_login(client, headers, "ada@example.com", PASSWORD), 429, "locked_out")


def test_lockout_is_per_address_whatever_the_account(ada, lockout):
    client, headers = csrf_client(REMOTE_ADDR="192.0.2.50")
    for n in range(3):
        api_login(client, headers, f"nobody{n}@example.com", "guess")
    assert_error_shape(api_login(client, headers, "ada@example.com", PASSWORD), 429, "locked_out")
    elsewhere, headers = csrf_client(REMOTE_ADDR="192.0.2.51")
    assert api_login(elsewhere, headers, "ada@example.com", PASSWORD).status_code == 200


@pytest.mark.parametrize("url", ["/signin/", "/admin/login/"])
def test_page_logins_lock_out_with_a_readable_message(ada, lockout, url):
    ada.is_staff = True
    ada.save()
    client = Client()
    for _ in range(2):
        assert page_login(client, url, "ada@example.com", "wrong").status_code == 200  # the form again, with its error
    assert page_login(client, url, "ada@example.com", "wrong").status_code == 429
    locked = page_login(client, url, "ada@example.com", PASSWORD)
    assert locked.status_code == 429
    assert "text/html" in locked["Content-Type"]
    assert b"Too many failed sign-ins" in locked.content and b"try again in 15 minute(s)" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_lockout_on_one_path_holds_on_the_others(ada, lockout):
    client = Client()
    for _ in range(3):
        page_login(client, "/signin/", "ada@example.com", "wrong")
    api, headers = csrf_client()
    assert_error_shape(api_login(api, headers, "ada@example.com", PASSWORD), 429, "locked_out")


def test_lockout_counts_are_shared_through_redis_when_it_is_configured(ada, lockout, settings):
    """With REDIS_URL, failures are counted in Redis, which every worker process shares: a second handler
    (as another process would build) sees the first one's lockout."""
    from axes.handlers.cache import AxesCacheHandler
    from axes.handlers.proxy import AxesProxyHandler

    from tests.fixtures.processes import missing_part

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as error:
        missing_part(f"Redis at {url} is not reachable: {error}")
    prefix = f"axes-test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "axes-redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                                         "LOCATION": url, "KEY_PREFIX": prefix}}
    settings.AXES_CACHE = "axes-redis"
    settings.AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
    AxesProxyHandler.get_implementation(force=True)
    try:
        client, headers = csrf_client()
        for _ in range(3):
            api_login(client, headers, "ada@example.com", "wrong")
        AxesProxyHandler.implementation = AxesCacheHandler()  # a fresh handler: nothing kept in this process
        fresh, headers = csrf_client(REMOTE_ADDR="192.0.2.99")
        assert_error_shape(api_login(fresh, headers, "ada@example.com", PASSWORD), 429, "locked_out")
    finally:
        # only this test's keys: cache.clear() would FLUSHDB a Redis other runs share
        server = redis.Redis.from_url(url)
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)
        AxesProxyHandler.implementation = None  # settings are restored after the test; the handler follows them


def test_the_lockout_store_is_shared_by_every_process():
    """Redis (through the cache handler) when REDIS_URL is set; else the database, never a per-process cache."""
    from config.env import login_lockout_handler

    assert login_lockout_handler({"REDIS_URL": "redis://127.0.0.1:6379/0"}) == "axes.handlers.cache.AxesCacheHandler"
    assert login_lockout_handler({}) == "axes.handlers.database.AxesDatabaseHandler"


# -- API token scopes -----------------------------------------------------------------------------------


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_tokens_get_read_and_upload_unless_asked_otherwise(ada):
    client = Client()
    client.force_login(ada)
    created = client.post("/api/auth/tokens", {"name": "cli"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["scopes"] == ["read", "upload"]
    chosen = client.post("/api/auth/tokens", {"name": "admin", "scopes": ["manage-tokens", "read"]},
                         content_type="application/json")
    assert chosen.json()["scopes"] == ["manage-tokens", "read"]
    unknown = client.post("/api/auth/tokens", {"name": "x", "scopes": ["root"]}, content_type="application/json")
    assert_error_shape(unknown, 422, "validation_error")


def test_a_token_without_manage_tokens_cannot_mint_list_or_revoke_tokens(ada):
    other, _ = api_token_create(user=ada, name="other")
    _, raw = api_token_create(user=ada, name="uploader", scopes=["read", "upload", "write"])
    client = Client()
    for response in (
        client.post("/api/auth/tokens", {"name": "minted"}, content_type="application/json", **bearer(raw)),
        client.get("/api/auth/tokens", **bearer(raw)),
        client.delete(f"/api/auth/tokens/{other.pk}", **bearer(raw)),
    ):
        body = assert_error_shape(response, 403, "scope_missing")
        assert "manage-tokens" in body["message"]
    assert ApiToken.objects.filter(user=ada).count() == 2
    other.refresh_from_db()
    assert other.revoked_at is None


def test_a_token_cannot_grant_more_than_it_has(ada):
    _, raw = api_token_create(user=ada, name="manager", scopes=["manage-tokens", "read"])
    client = Client()
    wider = client.post("/api/auth/tokens", {"name": "wider", "scopes": ["read", "upload"]},
                        content_type="application/json", **bearer(raw))
    assert "upload" in assert_error_shape(wider, 403, "scope_missing")["message"]
    same = client.post("/api/auth/tokens", {"name": "same", "scopes": ["read"]}, content_type="application/json",
                       **bearer(raw))
    assert same.status_code == 201 and same.json()["scopes"] == ["read"]


def test_every_signed_in_operation_checks_the_tokens_scope(ada):
    """A token with no scopes is refused (403 scope_missing) by every operation that needs a signed-in user;
    a read-only token by every one that changes something."""
    _, nothing = api_token_create(user=ada, name="nothing", scopes=[])
    _, read_only = api_token_create(user=ada, name="reader", scopes=["read"])
    client = Client()
    checked = 0
    for op in api_operations():
        if op.anonymous_allowed:
            continue
        url = op.url(**{name: 999999 for name in op.path_params})
        method = getattr(client, op.method.lower())
        assert_error_shape(method(url, content_type="application/json", **bearer(nothing)), 403, "scope_missing")
        if op.method not in ("GET", "HEAD"):
            assert_error_shape(method(url, content_type="application/json", **bearer(read_only)), 403, "scope_missing")
        checked += 1
    assert checked >= 15
    assert Client().get("/api/auth/me", **bearer(read_only)).status_code == 200


def test_scoped_tokens_do_what_their_scopes_allow(ada, settings, tmp_path):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "blocks"
    _, reader = api_token_create(user=ada, name="reader", scopes=["read"])
    _, uploader = api_token_create(user=ada, name="uploader", scopes=["read", "upload"])
    body = {"name": "doc", "data": {"a": 1}}
    assert_error_shape(Client().post("/api/ipfs/json", body, content_type="application/json", **bearer(reader)),
                       403, "scope_missing")
    created = Client().post("/api/ipfs/json", body, content_type="application/json", **bearer(uploader))
    assert created.status_code == 201, created.content
    record = created.json()["id"]
    assert_error_shape(Client().delete(f"/api/ipfs/records/{record}", **bearer(uploader)), 403, "scope_missing")


def test_session_users_have_every_scope(ada):
    client = Client()
    client.force_login(ada)
    assert client.get("/api/auth/tokens").status_code == 200
    assert client.post("/api/auth/tokens", {"name": "all", "scopes": ["read", "upload", "write", "manage-tokens"]},
                       content_type="application/json").status_code == 201


# -- password change --------------------------------------------------------------------------------------


def test_changing_the_password_keeps_this_session_and_ends_every_other_one_and_every_token(ada):
    this, headers = csrf_client()
    assert api_login(this, headers, "ada@example.com", PASSWORD).status_code == 200
    headers = {"HTTP_X_CSRFTOKEN": this.cookies["csrftoken"].value}
    elsewhere = Client()
    elsewhere.force_login(ada)
    _, raw = api_token_create(user=ada, name="cli", scopes=["read"])
    assert Client().get("/api/auth/me", **bearer(raw)).status_code == 200

    wrong = this.post("/api/auth/password", {"current_password": "nope", "new_password": NEW_PASSWORD},
                      content_type="application/json", **headers)
    assert "current_password" in assert_error_shape(wrong, 400, "wrong_password")["fields"]
    weak = this.post("/api/auth/password", {"current_password": PASSWORD, "new_password": "123"},
                     content_type="application/json", **headers)
    assert "new_password" in assert_error_shape(weak, 400)["fields"]

    changed = this.post("/api/auth/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                        content_type="application/json", **headers)
    assert changed.status_code == 204, changed.content
    assert this.get("/api/auth/me").status_code == 200
    assert elsewhere.get("/api/auth/me").status_code == 401
    assert Client().get("/api/auth/me", **bearer(raw)).status_code == 401
    assert not ApiToken.objects.filter(user=ada, revoked_at__isnull=True).exists()
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)


def test_a_password_set_anywhere_else_revokes_the_tokens_too(ada):
    """The admin's password form and `manage.py changepassword` end in set_password + save."""
    api_token_create(user=ada, name="cli")
    ada.set_password(NEW_PASSWORD)
    ada.save()
    assert not ApiToken.objects.filter(user=ada, revoked_at__isnull=True).exists()
    api_token_create(user=ada, name="new")
    ada.display_name = "Ada"
    ada.save()  # other changes leave tokens alone
    assert ApiToken.objects.filter(user=ada, revoked_at__isnull=True).count() == 1


# -- ASCII numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("Chain ID", "²"), ("Chain ID", "３１３３７"), ("Chain ID", "٣١٣٣٧"),
    ("Version", "١"), ("Issued At", "２０２６-01-01T00:00:00Z"), ("Nonce", "abcd１２３４"),
])
def test_siwe_numbers_in_other_scripts_are_a_400_in_the_error_shape(field, value):
    from accounts import siwe
    from tests.test_siwe import WALLET, sign

    client = Client()
    nonce = client.get("/api/auth/siwe/nonce").json()["nonce"]
    text = siwe.build_message(domain="testserver", address=WALLET.address, uri="http://testserver/login", chain_id=31337,
                              nonce=nonce, issued_at="2026-01-01T00:00:00Z")
    lines = [f"{field}: {value}" if line.startswith(f"{field}: ") else line for line in text.split("\n")]
    text = "\n".join(lines)
    response = client.post("/api/auth/siwe/verify", {"message": text, "signature": sign(text)},
                           content_type="application/json")
    assert_error_shape(response, 400, "siwe_malformed")


@pytest.mark.parametrize("text", ["²", "٣", "１２", "+5", " 7", "1e3", ""])
def test_ascii_int_reads_ascii_digits_only(text):
    from core.http import ascii_int

    if text in ("+5",):
        assert ascii_int(text) == 5
        return
    with pytest.raises(ValueError):
        ascii_int(text)


def test_video_amounts_in_other_scripts_are_a_400(ada):
    client = Client()
    client.force_login(ada)
    response = client.post("/api/videos/", {"title": "t", "visibility": "paid", "price": "²"})
    assert_error_shape(response, 400)
