import pytest
from django.test import Client

from accounts.models import ApiToken, User

pytestmark = pytest.mark.django_db

STRONG = "velvet-harbour-91-lantern"


@pytest.fixture
def browser():
    """A client that enforces CSRF like a real browser session."""
    return Client(enforce_csrf_checks=True)


def csrf_headers(client) -> dict:
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    return {"HTTP_X_CSRFTOKEN": token}


def register(client, email="ada@example.com", password=STRONG, **extra):
    return client.post("/api/auth/register", {"email": email, "password": password, **extra},
                       content_type="application/json", **csrf_headers(client))


def test_register_signs_in_and_me_answers(browser):
    response = register(browser, display_name="Ada")
    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "ada@example.com"
    me = browser.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["display_name"] == "Ada"
    assert me.json()["email_verified"] is False


def test_register_without_csrf_is_refused(browser):
    response = browser.post("/api/auth/register", {"email": "a@example.com", "password": STRONG},
                            content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not User.objects.exists()


def test_weak_password_gives_field_errors(browser):
    response = register(browser, password="123")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "password" in body["fields"]
    assert not User.objects.exists()


def test_duplicate_email_is_a_conflict(browser):
    register(browser)
    other = Client(enforce_csrf_checks=True)
    response = register(other, email="ADA@example.com")
    assert response.status_code == 409
    assert User.objects.count() == 1


def test_bad_credentials_are_401_and_good_ones_sign_in(browser):
    User.objects.create_user(email="bob@example.com", password=STRONG)
    bad = browser.post("/api/auth/login", {"email": "bob@example.com", "password": "nope"},
                       content_type="application/json", **csrf_headers(browser))
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_credentials"
    good = browser.post("/api/auth/login", {"email": "bob@example.com", "password": STRONG},
                        content_type="application/json", **csrf_headers(browser))
    assert good.status_code == 200
    assert browser.get("/api/auth/me").json()["email"] == "bob@example.com"
    assert browser.post("/api/auth/logout", **csrf_headers(browser)).status_code == 204
    assert browser.get("/api/auth/me").status_code == 401


def test_me_requires_authentication(client):
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_token_lifecycle(client):
    user = User.objects.create_user(email="carol@example.com", password=STRONG)
    client.force_login(user)
    created = client.post("/api/auth/tokens", {"name": "laptop"}, content_type="application/json")
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("fc_")
    row = ApiToken.objects.get()
    assert raw not in (row.token_hash, row.prefix) and row.token_hash != raw  # stored hashed only

    bearer = Client()
    me = bearer.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200 and me.json()["email"] == "carol@example.com"
    row.refresh_from_db()
    assert row.last_used_at is not None

    listed = client.get("/api/auth/tokens").json()
    assert listed["count"] == 1 and "token" not in listed["items"][0]

    assert client.delete(f"/api/auth/tokens/{row.pk}").status_code == 204
    assert bearer.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_wrong_and_expired_tokens_are_refused(client):
    user = User.objects.create_user(email="dan@example.com", password=STRONG)
    from accounts.services import api_token_create

    _, raw = api_token_create(user=user, name="short", expires_in_days=1)
    ApiToken.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert client.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert client.get("/api/auth/me", HTTP_AUTHORIZATION="Bearer fc_made-up").status_code == 401


def test_another_users_token_cannot_be_revoked(client):
    owner = User.objects.create_user(email="erin@example.com", password=STRONG)
    intruder = User.objects.create_user(email="mallory@example.com", password=STRONG)
    from accounts.services import api_token_create

    token, _ = api_token_create(user=owner, name="mine")
    client.force_login(intruder)
    assert client.delete(f"/api/auth/tokens/{token.pk}").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_sign_in_is_throttled(browser, settings):
    settings.AUTH_THROTTLE_RATE = "3/m"
    from django.core.cache import cache

    cache.clear()
    responses = [
        browser.post("/api/auth/login", {"email": "x@example.com", "password": "bad"},
                     content_type="application/json", **csrf_headers(browser))
        for _ in range(5)
    ]
    assert [r.status_code for r in responses] == [401, 401, 401, 429, 429]
    assert responses[-1].json()["code"] == "throttled"
    assert int(responses[-1]["Retry-After"]) >= 1
    cache.clear()


def test_ensure_admin_creates_one_superuser_once(db):
    """`make run`'s first admin: created with a random password shown once; a second run changes nothing."""
    from io import StringIO

    from django.core.management import call_command

    from accounts.models import User

    first, second = StringIO(), StringIO()
    call_command("ensure_admin", "--email", "boss@example.com", stdout=first)
    password = first.getvalue().rsplit(" ", 1)[-1].strip()
    assert User.objects.get(is_superuser=True).check_password(password) and len(password) >= 12
    call_command("ensure_admin", "--email", "other@example.com", stdout=second)
    assert "exists already" in second.getvalue() and User.objects.filter(is_superuser=True).count() == 1
