"""The IPFS API: uploads (auth, size limit), my records (fixed query count), detail with gateway URL, retry."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pinning.models import IPFSRecord


@pytest.fixture
def ipfs(settings, tmp_path):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "ipfs" / "blocks"
    settings.IPFS_BACKEND = "embedded"
    settings.IPFS_GATEWAY_URL = "http://testserver/ipfs/"
    return settings


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(email="alice@example.com", password="pw-123456789")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(email="bob@example.com", password="pw-123456789")


def upload(client, data=b"hello world\n", name="hello.txt"):
    return client.post("/api/ipfs/uploads", {"name": name, "file": SimpleUploadedFile(name, data)})


@pytest.mark.django_db
def test_upload_needs_login(client, ipfs):
    response = upload(client)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.django_db
def test_upload_file_then_fetch_through_the_gateway(client, ipfs, alice):
    client.force_login(alice)
    response = upload(client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cid"] == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert body["status"] == "pinned" and body["size"] == 12
    # the file's name names the type the gateway serves it as
    assert body["gateway_url"] == ("http://testserver/ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
                                   "?filename=hello.txt")
    assert body["import_params"]["cid_version"] == 0
    served = client.get("/ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    assert b"".join(served.streaming_content) == b"hello world\n"
    detail = client.get(f"/api/ipfs/records/{body['id']}")
    assert detail.status_code == 200 and detail.json()["cid"] == body["cid"]


@pytest.mark.django_db
def test_json_upload_is_canonical(client, ipfs, alice):
    client.force_login(alice)
    first = client.post("/api/ipfs/json", {"name": "meta", "data": {"b": 2, "a": [1, "é"]}}, content_type="application/json")
    second = client.post("/api/ipfs/json", {"name": "meta", "data": {"a": [1, "é"], "b": 2}}, content_type="application/json")
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["cid"] == second.json()["cid"]
    assert first.json()["id"] != second.json()["id"]  # one record per upload; pins are counted by CID
    assert first.json()["kind"] == "json"


@pytest.mark.django_db
def test_size_limit_is_413(client, ipfs, alice):
    ipfs.IPFS_UPLOAD_MAX_BYTES = 10
    client.force_login(alice)
    response = upload(client, data=b"eleven bytes")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large" and "largest allowed is 10 bytes" in response.json()["message"]
    assert IPFSRecord.objects.count() == 0


@pytest.mark.django_db
def test_records_are_private_and_listing_has_fixed_queries(client, ipfs, alice, bob):
    client.force_login(bob)
    bob_record = upload(client, b"bob's\n", "b.txt").json()
    client.force_login(alice)
    ids = [upload(client, f"file {index}\n".encode(), f"{index}.txt").json()["id"] for index in range(3)]
    with CaptureQueriesContext(connection) as few:
        page = client.get("/api/ipfs/records?limit=1")
    with CaptureQueriesContext(connection) as many:
        full = client.get("/api/ipfs/records?limit=50")
    assert page.json()["count"] == 3 and len(page.json()["items"]) == 1
    assert sorted(item["id"] for item in full.json()["items"]) == sorted(ids)
    assert len(few.captured_queries) == len(many.captured_queries)
    assert client.get(f"/api/ipfs/records/{bob_record['id']}").status_code == 404
    assert client.post(f"/api/ipfs/records/{bob_record['id']}/retry").status_code == 404


@pytest.mark.django_db
def test_same_file_from_two_users_is_two_records(client, ipfs, alice, bob):
    client.force_login(alice)
    first = upload(client).json()
    client.force_login(bob)
    second = upload(client).json()
    assert first["cid"] == second["cid"] and first["id"] != second["id"]
    assert client.get(f"/api/ipfs/records/{first['id']}").status_code == 404


@pytest.mark.django_db
def test_retry_only_failed(client, ipfs, alice):
    client.force_login(alice)
    record_id = upload(client).json()["id"]
    response = client.post(f"/api/ipfs/records/{record_id}/retry")
    assert response.status_code == 400 and response.json()["code"] == "not_failed"


@pytest.mark.django_db
def test_bad_json_body_is_422(client, ipfs, alice):
    client.force_login(alice)
    response = client.post("/api/ipfs/json", json.dumps({"data": 1}), content_type="application/json")
    assert response.status_code == 422
    assert "name" in response.json()["fields"]


@pytest.mark.django_db
def test_my_video_records_are_listed_and_unpin_by_delete(client, ipfs, alice, bob):
    from django.contrib.contenttypes.models import ContentType

    from media_pipeline.models import Video

    video = Video.objects.create(owner=alice, title="mine")
    record = IPFSRecord.objects.create(name="mine (HLS)", kind="directory", role="video_hls", backend="embedded",
                                       content_type=ContentType.objects.get_for_model(Video), object_id=video.pk)
    client.force_login(alice)
    items = client.get("/api/ipfs/records").json()["items"]
    assert [item["id"] for item in items] == [record.pk]
    uploaded = upload(client).json()
    client.force_login(bob)
    assert client.delete(f"/api/ipfs/records/{uploaded['id']}").status_code == 404
    client.force_login(alice)
    response = client.delete(f"/api/ipfs/records/{uploaded['id']}")
    assert response.status_code == 200
    assert response.json()["status"] in ("unpinning", "unpinned")
    assert IPFSRecord.objects.get(pk=uploaded["id"]).status == "unpinning"  # the task runs after commit


@pytest.mark.django_db
def test_unpin_by_one_uploader_keeps_it_for_the_other(client, ipfs, alice, bob):
    client.force_login(alice)
    record_id = upload(client).json()["id"]
    client.force_login(bob)
    bobs = upload(client).json()["id"]
    assert client.delete(f"/api/ipfs/records/{record_id}").status_code == 404  # not bob's
    response = client.delete(f"/api/ipfs/records/{bobs}")
    assert response.status_code == 200 and response.json()["status"] == "unpinning"
    assert IPFSRecord.objects.get(pk=record_id).status == "pinned"
    client.force_login(alice)
    assert client.delete(f"/api/ipfs/records/{record_id}").json()["status"] == "unpinning"
