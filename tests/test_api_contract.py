"""One error shape for the whole API: every 4xx answer, whoever raises it (a service, ninja's
parser, auth, routing, Django's request limits), is JSON `{"code", "message", "fields"}`.
Throttled auth endpoints answer 429 in the same shape, with Retry-After."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from media_pipeline.models import Video

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

STRONG = "velvet-harbour-91-lantern"


@pytest.fixture
def user():
    return User.objects.create_user(email="ada@example.com", password=STRONG)


@pytest.fixture
def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["code"], str) and body["code"] and isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    assert all(isinstance(k, str) and isinstance(v, list) and all(isinstance(m, str) for m in v)
               for k, v in body["fields"].items()), body["fields"]
    if code:
        assert body["code"] == code, body
    return body


def test_400_malformed_json_and_wrong_content_type(signed_in):
    body = assert_error(signed_in.post("/api/auth/tokens", "{not json", content_type="application/json"), 400,
                        "malformed_body")
    assert "JSON" in body["message"]
    assert_error(signed_in.post("/api/auth/tokens", {"name": "laptop"}), 400, "malformed_body")  # a form, not JSON
    assert_error(signed_in.post("/api/auth/tokens", b"\xff\xfe", content_type="application/json"), 400, "malformed_body")


def test_400_refused_values_carry_field_errors():
    browser = Client(enforce_csrf_checks=True)
    csrf = browser.get("/api/auth/csrf").json()["csrf_token"]
    response = browser.post("/api/auth/register", {"email": "a@example.com", "password": "123"},
                            content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert "password" in assert_error(response, 400, "invalid")["fields"]


def test_401_without_or_with_a_bad_credential(db):
    assert_error(Client().get("/api/auth/me"), 401, "unauthorized")
    assert_error(Client().get("/api/auth/me", HTTP_AUTHORIZATION="Bearer fc_made-up"), 401, "unauthorized")
    assert_error(Client().get("/api/videos/", HTTP_AUTHORIZATION="Bearer fc_made-up"), 401, "unauthorized")
    assert_error(Client(enforce_csrf_checks=True).post("/api/auth/login", {"email": "ada@example.com", "password": "x"},
                                                       content_type="application/json"), 403, "csrf_failed")
    browser = Client(enforce_csrf_checks=True)
    assert_error(csrf_post("/api/auth/login", {"email": "ada@example.com", "password": "wrong"})(browser), 401,
                 "invalid_credentials")


def test_403_csrf_staff_and_ownership(user, signed_in):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    body = assert_error(browser.post("/api/auth/tokens", {"name": "x"}, content_type="application/json"), 403,
                        "csrf_failed")
    assert "X-CSRFToken" in body["message"]
    assert_error(signed_in.get("/api/payments/indexer"), 403, "staff_only")
    other = User.objects.create_user(email="bob@example.com", password=STRONG)
    video = Video.objects.create(owner=other, title="theirs", status="ready", hls_path="videos/1/out-1/hls")
    assert_error(signed_in.get(f"/api/videos/{video.pk}/job"), 403, "forbidden")
    assert_error(signed_in.delete(f"/api/videos/{video.pk}"), 403, "forbidden")


@pytest.mark.parametrize("method, path", [
    ("get", "/api/nope"), ("post", "/api/nope"), ("get", "/api/videos/abc"), ("get", "/api/videos/999999"),
    ("delete", "/api/auth/tokens/999999"), ("get", "/api/ipfs/records/999999"), ("get", "/api/payments/streams/999999"),
    ("get", "/api/"),
])
def test_404_unknown_paths_and_objects(signed_in, method, path):
    assert_error(getattr(signed_in, method)(path), 404, "not_found")


@pytest.mark.parametrize("method, path, allowed", [
    ("delete", "/api/videos/", {"GET", "POST"}), ("put", "/api/auth/tokens", {"GET", "POST"}),
    ("get", "/api/auth/logout", {"POST"}), ("post", "/api/health", {"GET"}), ("patch", "/api/videos/1", {"GET", "DELETE"}),
])
def test_405_names_the_allowed_methods(signed_in, method, path, allowed):
    response = getattr(signed_in, method)(path)
    assert_error(response, 405, "method_not_allowed")
    assert {m.strip() for m in response["Allow"].split(",")} == allowed


def test_413_bodies_and_files_over_the_limits(signed_in, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_error(signed_in.post("/api/ipfs/json", {"name": "big", "data": "a" * 5000}, content_type="application/json"),
                 413, "too_large")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    settings.IPFS_UPLOAD_MAX_BYTES = 100
    assert_error(signed_in.post("/api/ipfs/json", {"name": "big", "data": "a" * 500}, content_type="application/json"),
                 413, "too_large")
    settings.MEDIA_MAX_UPLOAD_BYTES = 100
    upload = SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, content_type="video/mp4")
    assert_error(signed_in.post("/api/videos/", {"title": "big", "file": upload}), 413, "too_large")


def test_415_a_file_that_is_not_a_video(signed_in):
    upload = SimpleUploadedFile("notes.mp4", b"just some text, not a container", content_type="video/mp4")
    body = assert_error(signed_in.post("/api/videos/", {"title": "notes", "file": upload}), 415, "unsupported_media_type")
    assert body["fields"] == {"file": ["not a video"]}


def test_422_parameters_and_bodies_that_do_not_match_the_operation(signed_in):
    assert assert_error(signed_in.get("/api/videos/?limit=0"), 422, "validation_error")["fields"] == {
        "limit": ["Input should be greater than or equal to 1"]}
    assert "limit" in assert_error(signed_in.get("/api/videos/?limit=many"), 422)["fields"]
    assert "name" in assert_error(signed_in.post("/api/auth/tokens", {"name": ""}, content_type="application/json"),
                                  422)["fields"]
    assert "name" in assert_error(signed_in.post("/api/auth/tokens", [1], content_type="application/json"), 422)["fields"]
    assert "status" in assert_error(signed_in.get("/api/videos/?status=bogus"), 422)["fields"]


@pytest.fixture
def throttled(settings):
    settings.AUTH_THROTTLE_RATE = "2/m"


def siwe_verify(client):
    return client.post("/api/auth/siwe/verify", {"message": "not a message", "signature": "0x00"},
                       content_type="application/json")


def csrf_post(path, payload):
    def call(client):
        token = client.get("/api/auth/csrf").json()["csrf_token"]
        return client.post(path, payload, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    return call


THROTTLED = {
    "sign-in": csrf_post("/api/auth/login", {"email": "x@example.com", "password": "wrong"}),
    "register": csrf_post("/api/auth/register", {"email": "x@example.com", "password": "123"}),
    "SIWE nonce": lambda client: client.get("/api/auth/siwe/nonce"),
    "SIWE verify": siwe_verify,
    "verify-email": lambda client: client.get("/api/auth/verify-email?token=forged"),
    "verify-email resend": lambda client: client.post("/api/auth/verify-email/resend", {"email": "x@example.com"},
                                                       content_type="application/json"),
}


@pytest.mark.parametrize("endpoint", sorted(THROTTLED))
def test_auth_endpoints_are_throttled_in_the_error_shape(db, throttled, endpoint):
    client = Client(enforce_csrf_checks=True)
    call = THROTTLED[endpoint]
    answers = [call(client) for _ in range(3)]
    assert all(r.status_code != 429 for r in answers[:2]), [r.status_code for r in answers]
    body = assert_error(answers[2], 429, "throttled")
    assert 1 <= int(answers[2]["Retry-After"]) <= 60 and answers[2]["Retry-After"] in body["message"]


def test_throttling_is_per_endpoint(db, throttled):
    client = Client(enforce_csrf_checks=True)
    for _ in range(3):
        THROTTLED["SIWE nonce"](client)
    assert THROTTLED["SIWE nonce"](client).status_code == 429
    assert THROTTLED["verify-email"](client).status_code == 400  # its own budget: the forged link is refused
