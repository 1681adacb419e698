"""GET /api/auth/verify-email: signed, expiring, single-use links; clear 4xx otherwise."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from ninja.testing import TestClient

from accounts.models import User
from accounts.services import EMAIL_VERIFICATION_SALT, email_verification_token_create, email_verification_url
from config.api import api


@pytest.fixture
def client():
    return TestClient(api)


@pytest.fixture
def user(db):
    return User.objects.create_user("ada@example.com")


def verify(client, token):
    return client.get("/auth/verify-email", query_params={"token": token})


def test_the_link_in_the_email_names_the_endpoint_and_a_token(user, settings):
    settings.SITE_URL = "https://flowcast.example"
    url = urlsplit(email_verification_url(user=user))
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://flowcast.example/api/auth/verify-email"
    [token] = parse_qs(url.query)["token"]
    assert signing.loads(token, salt=EMAIL_VERIFICATION_SALT) == {"user": user.pk, "email": "ada@example.com"}


def test_a_valid_token_verifies_once_then_reuse_is_409(client, user):
    token = email_verification_token_create(user=user)
    response = verify(client, token)
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"
    user.refresh_from_db()
    assert user.email_verified_at is not None
    again = verify(client, token)
    assert again.status_code == 409
    assert again.json() == {"code": "link_used", "message": "This verification link was already used: the address is verified.", "fields": {}}


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature changed
    lambda token: token[: len(token) // 2],  # cut short
    lambda token: "not-a-token",
    lambda token: signing.dumps({"user": 1, "email": "ada@example.com"}, salt="another-purpose"),
])
def test_a_tampered_token_is_400_and_verifies_nothing(client, user, tamper):
    response = verify(client, tamper(email_verification_token_create(user=user)))
    assert response.status_code == 400
    assert response.json()["code"] == "link_invalid"
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_a_token_for_another_user_id_is_rejected(client, user):
    other = User.objects.create_user("bob@example.com")
    forged = signing.dumps({"user": other.pk, "email": "ada@example.com"}, salt="wrong")
    assert verify(client, forged).status_code == 400
    other.refresh_from_db()
    assert other.email_verified_at is None


def test_an_expired_token_is_400_with_its_own_code(client, user, settings):
    token = email_verification_token_create(user=user)
    settings.EMAIL_VERIFICATION_MAX_AGE = -1
    response = verify(client, token)
    assert response.status_code == 400
    assert response.json()["code"] == "link_expired"
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_a_link_to_an_address_no_longer_on_the_account_is_rejected(client, user):
    token = email_verification_token_create(user=user)
    user.email = "ada@new.example.com"
    user.save()
    response = verify(client, token)
    assert response.status_code == 400
    assert response.json()["code"] == "link_stale"
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_a_missing_token_is_a_422_in_the_error_shape(client, db):
    response = client.get("/auth/verify-email")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_resend_queues_a_new_link_once_an_hour_and_reveals_nothing(client, user, django_capture_on_commit_callbacks):
    from notifications.models import OutboundEmail

    OutboundEmail.objects.all().delete()  # the welcome email
    expected = {"message": "If an unverified account uses this address, a new link is on its way."}
    with django_capture_on_commit_callbacks() as callbacks:
        first = client.post("/auth/verify-email/resend", json={"email": "ADA@example.com"})
        second = client.post("/auth/verify-email/resend", json={"email": "ada@example.com"})
        unknown = client.post("/auth/verify-email/resend", json={"email": "nobody@example.com"})
    assert [r.status_code for r in (first, second, unknown)] == [202, 202, 202]
    assert first.json() == second.json() == unknown.json() == expected
    [email] = OutboundEmail.objects.all()
    assert (email.template, email.recipient, len(callbacks)) == ("verify_email", "ada@example.com", 1)
    # The new link verifies the address.
    link = next(line.strip() for line in email.body_text.splitlines() if "verify-email?token=" in line)
    assert verify(client, parse_qs(urlsplit(link).query)["token"][0]).status_code == 200
    # Verified accounts get nothing more.
    OutboundEmail.objects.all().delete()
    client.post("/auth/verify-email/resend", json={"email": "ada@example.com"})
    assert not OutboundEmail.objects.exists()


def test_resend_with_a_bad_address_is_400(client, db):
    response = client.post("/auth/verify-email/resend", json={"email": "not an address"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"email": ["Enter a valid email address."]}
