"""Issue 12 §5, data follows its owner: each hole as the attack that used to work.

- a video made paid or private loses its IPFS pins (the embedded gateway stops serving its CIDs after gc)
  and every link to them; going public again pins it again; a CID another record still uses stays pinned;
- the same bytes uploaded by two users are two records: neither reaches the other's;
- admin actions and buttons that change data need the change/delete permission (view-only staff: 403);
- an API upload from a caller the API refuses is answered before its body is read, every upload stops at
  its endpoint's limit while streaming, and users have quotas of stored bytes and queued transcodes.

IPFS tasks run in django-q2's sync mode; the body tests talk HTTP to a live server through a raw socket.
"""

from __future__ import annotations

import io
import socket
from urllib.parse import urlsplit

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django_q.conf import Conf

from accounts.services import api_token_create
from media_pipeline.models import TranscodeJob, Video
from notifications.models import OutboundEmail
from pinning import services as ipfs_services
from pinning.models import IPFSRecord
from tests.ipfs.test_pin_flow import ready_video, session_hls  # noqa: F401 (fixture)

Status = IPFSRecord.Status


@pytest.fixture
def ipfs_settings(settings, media_root, tmp_path, monkeypatch):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "media" / "ipfs" / "blocks"
    settings.IPFS_BACKEND = "embedded"
    settings.IPFS_GATEWAY_URL = "http://testserver/ipfs/"
    monkeypatch.setattr(Conf, "SYNC", True)
    return settings


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(email="alice@example.com", password="pw-123456789")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(email="bob@example.com", password="pw-123456789")


def client_for(user=None, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def served(client, cid: str) -> int:
    """The gateway's answer for a CID (a directory's `/ipfs/<cid>` redirects to `/ipfs/<cid>/`)."""
    return client.get(f"/ipfs/{cid}", follow=True).status_code


def pages_about(video, owner) -> str:
    """Everything a viewer, the owner and staff can read about the video: pages, API answers, admin."""
    staff = type(owner).objects.filter(is_superuser=True).first() or type(owner).objects.create_superuser(
        email="root@example.com", password="pw-123456789")
    texts = [client_for().get(f"/watch/{video.pk}").content.decode(),
             client_for(owner).get(f"/watch/{video.pk}").content.decode(),
             client_for(owner).get(f"/api/videos/{video.pk}").content.decode(),
             client_for(owner).get("/api/ipfs/records").content.decode(),
             client_for(staff).get(f"/admin/media_pipeline/video/{video.pk}/change/").content.decode(),
             client_for(staff).get("/admin/pinning/ipfsrecord/").content.decode()]
    return "\n".join(texts)


# ---------------------------------------------------------------- pins follow the visibility

@pytest.mark.django_db(transaction=True)
def test_a_public_video_made_paid_is_unpinned_collected_and_unlinked(ipfs_settings, alice, session_hls):
    video = ready_video(alice, ipfs_settings, session_hls)
    video.refresh_from_db()
    cids = set(IPFSRecord.objects.values_list("cid", flat=True))
    assert len(cids) == 3 and video.hls_cid in cids
    viewer = client_for()
    assert all(served(viewer, cid) == 200 for cid in cids)
    assert f"/ipfs/{video.hls_cid}/" in client_for().get(f"/watch/{video.pk}").content.decode()

    with transaction.atomic():  # public ↔ unlisted: both pinned, nothing changes
        video.visibility = Video.Visibility.UNLISTED
        video.save()
    assert set(IPFSRecord.objects.values_list("status", "cid")) == {(Status.PINNED, cid) for cid in cids}

    with transaction.atomic():  # as the admin's change form saves it
        video.visibility, video.price = Video.Visibility.PAID, 10**18
        video.save()

    assert set(IPFSRecord.objects.values_list("status", flat=True)) == {Status.UNPINNED}
    assert ipfs_services.ipfs_node().pins() == []
    for cid in cids:
        assert served(viewer, cid) == 404, cid
    video.refresh_from_db()
    assert video.hls_cid == "" and video.metadata_cid == ""
    everything = pages_about(video, alice)
    for cid in cids:
        assert f"/ipfs/{cid}" not in everything

    with transaction.atomic():  # public again: pinned again
        video.visibility = Video.Visibility.PUBLIC
        video.save()
    video.refresh_from_db()
    assert video.hls_cid in cids
    assert served(viewer, video.hls_cid) == 200
    assert f"/ipfs/{video.hls_cid}/" in client_for().get(f"/watch/{video.pk}").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_private_video_keeps_a_cid_another_video_still_pins(ipfs_settings, alice, session_hls):
    first = ready_video(alice, ipfs_settings, session_hls, title="Same")
    second = ready_video(alice, ipfs_settings, session_hls, title="Same")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.hls_cid == second.hls_cid
    staff = type(alice).objects.create_superuser(email="root@example.com", password="pw-123456789")
    response = client_for(staff).post(f"/admin/media_pipeline/video/{first.pk}/change/", {  # made private in the admin
        "owner": alice.pk, "title": first.title, "description": "", "visibility": "private", "price": "",
        "stream_rate": "", "renditions-TOTAL_FORMS": 0, "renditions-INITIAL_FORMS": 0,
        "transcode_jobs-TOTAL_FORMS": 0, "transcode_jobs-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Video.objects.get(pk=first.pk).visibility == "private"
    assert IPFSRecord.objects.filter(object_id=first.pk, status=Status.UNPINNED).count() == 3
    assert second.hls_cid in ipfs_services.ipfs_node().pins()
    assert served(client_for(), f"{second.hls_cid}/master.m3u8") == 200


@pytest.mark.django_db(transaction=True)
def test_a_locked_video_never_shows_an_ipfs_link(ipfs_settings, alice, bob, session_hls):
    # An operator who pins paid videos too: the CID still must not be handed to someone who has not paid.
    ipfs_settings.IPFS_PIN_VISIBILITIES = ["public", "unlisted", "paid"]
    video = ready_video(alice, ipfs_settings, session_hls)
    Video.objects.filter(pk=video.pk).update(visibility=Video.Visibility.PAID, price=10**18)
    video.refresh_from_db()
    assert video.hls_cid and IPFSRecord.objects.filter(cid=video.hls_cid, status=Status.PINNED).exists()
    for viewer in (client_for(), client_for(bob)):
        page = viewer.get(f"/watch/{video.pk}").content.decode()
        assert video.hls_cid not in page
        assert 'id="ipfs-link"' not in page


# ---------------------------------------------------------------- one record per uploader

def upload(client, data=b"the same bytes\n", name="notes.txt"):
    return client.post("/api/ipfs/uploads", {"name": name, "file": SimpleUploadedFile(name, data)})


@pytest.mark.django_db(transaction=True)
def test_the_same_bytes_from_another_user_are_their_own_record(ipfs_settings, alice, bob):
    as_alice, as_bob = client_for(alice), client_for(bob)
    mine = upload(as_alice, name="alice-secret-title.txt").json()
    theirs = upload(as_bob, name="bob.txt").json()
    assert theirs["cid"] == mine["cid"]
    assert theirs["id"] != mine["id"]
    assert as_bob.get(f"/api/ipfs/records/{mine['id']}").status_code == 404
    assert "alice-secret-title" not in as_bob.get("/api/ipfs/records").content.decode()
    assert as_bob.delete(f"/api/ipfs/records/{mine['id']}").status_code == 404

    assert as_bob.delete(f"/api/ipfs/records/{theirs['id']}").status_code == 200
    assert IPFSRecord.objects.get(pk=theirs["id"]).status == Status.UNPINNED
    assert IPFSRecord.objects.get(pk=mine["id"]).status == Status.PINNED
    assert mine["cid"] in ipfs_services.ipfs_node().pins()
    assert b"".join(client_for().get(f"/ipfs/{mine['cid']}").streaming_content) == b"the same bytes\n"

    # The last record of the CID goes: then the content goes.
    assert as_alice.delete(f"/api/ipfs/records/{mine['id']}").status_code == 200
    assert served(client_for(), mine["cid"]) == 404


# ---------------------------------------------------------------- admin actions need the permission

@pytest.fixture
def viewer_staff(django_user_model):
    user = django_user_model.objects.create_user(email="looker@example.com", password="pw-123456789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


def test_every_admin_action_names_the_permission_it_needs():
    """An action without `permissions=` is offered to (and runs for) anyone who may view the list."""
    for model, model_admin in site._registry.items():
        for function, name, _description in model_admin._get_base_actions():
            permissions = set(getattr(function, "allowed_permissions", ()))
            assert permissions & {"change", "delete"}, f"{model.__name__} admin action {name} needs no permission"


def post_action(client, changelist: str, action: str, pk: int):
    return client.post(changelist, {"action": action, "_selected_action": [pk]})


@pytest.mark.django_db
def test_view_only_staff_cannot_run_data_changing_admin_actions(viewer_staff, alice, settings, media_root):
    client = client_for(viewer_staff)
    video = Video.objects.create(owner=alice, title="v", status=Video.Status.READY, hls_path="videos/1/out-1/hls",
                                 thumbnail="videos/1/out-1/poster.jpg")
    Video.objects.filter(pk=video.pk).update(source="sources/1/clip.mp4")  # no transcode queued by a save
    failed = IPFSRecord.objects.create(name="r", kind="file", backend="embedded", status=Status.FAILED, cid="Qm1")
    pinned = IPFSRecord.objects.create(name="p", kind="file", backend="embedded", status=Status.PINNED, cid="Qm2")
    email = OutboundEmail.objects.create(recipient="x@example.com", template="test", subject="s", body_text="t",
                                         body_html="<p>t</p>", status=OutboundEmail.Status.FAILED, last_error="down",
                                         idempotency_key="k1", message_id="<1@flowcast>")
    email_queued = OutboundEmail.objects.create(recipient="y@example.com", template="test", subject="s", body_text="t",
                                                body_html="<p>t</p>", status=OutboundEmail.Status.QUEUED,
                                                idempotency_key="k2", message_id="<2@flowcast>")

    listing = client.get("/admin/media_pipeline/video/").content.decode()
    assert listing.count('value="retranscode"') == 0 and 'value="delete_outputs"' not in listing
    for changelist, action, pk in (("/admin/media_pipeline/video/", "retranscode", video.pk),
                                   ("/admin/media_pipeline/video/", "delete_outputs", video.pk),
                                   ("/admin/pinning/ipfsrecord/", "retry_failed", failed.pk),
                                   ("/admin/pinning/ipfsrecord/", "unpin", pinned.pk),
                                   ("/admin/notifications/outboundemail/", "resend", email.pk),
                                   ("/admin/notifications/outboundemail/", "mark_failed", email_queued.pk)):
        post_action(client, changelist, action, pk)
    assert client.post(f"/admin/media_pipeline/video/{video.pk}/retranscode/").status_code == 403
    page = client.get(f"/admin/media_pipeline/video/{video.pk}/change/").content.decode()
    assert 'id="retranscode"' not in page

    video.refresh_from_db()
    assert video.hls_path and video.status == Video.Status.READY
    assert not TranscodeJob.objects.exists()
    assert IPFSRecord.objects.get(pk=failed.pk).status == Status.FAILED
    assert IPFSRecord.objects.get(pk=pinned.pk).status == Status.PINNED
    assert OutboundEmail.objects.get(pk=email.pk).status == OutboundEmail.Status.FAILED
    assert OutboundEmail.objects.get(pk=email_queued.pk).status == OutboundEmail.Status.QUEUED

    # The same actions with the permission do act (so the refusals above are the permission's doing).
    viewer_staff.user_permissions.add(*Permission.objects.filter(codename__in=["change_video", "change_ipfsrecord",
                                                                               "delete_ipfsrecord"]))
    client = client_for(viewer_staff)
    post_action(client, "/admin/pinning/ipfsrecord/", "retry_failed", failed.pk)
    post_action(client, "/admin/pinning/ipfsrecord/", "unpin", pinned.pk)
    assert IPFSRecord.objects.get(pk=failed.pk).status == Status.QUEUED
    assert IPFSRecord.objects.get(pk=pinned.pk).status == Status.UNPINNING
    assert client.post(f"/admin/media_pipeline/video/{video.pk}/retranscode/").status_code == 302
    assert TranscodeJob.objects.filter(video=video).exists()


@pytest.mark.django_db
def test_deleting_a_pinned_record_in_the_admin_does_not_orphan_its_pin(admin_client):
    pinned = IPFSRecord.objects.create(name="p", kind="file", backend="embedded", status=Status.PINNED, cid="Qm2")
    done = IPFSRecord.objects.create(name="d", kind="file", backend="embedded", status=Status.UNPINNED, cid="Qm3")
    assert admin_client.post(f"/admin/pinning/ipfsrecord/{pinned.pk}/delete/", {"post": "yes"}).status_code == 403
    changelist = "/admin/pinning/ipfsrecord/"
    response = admin_client.post(changelist, {"action": "delete_selected", "post": "yes",
                                              "_selected_action": [pinned.pk, done.pk]})
    assert response.status_code == 403 and IPFSRecord.objects.count() == 2
    admin_client.post(changelist, {"action": "delete_selected", "post": "yes", "_selected_action": [done.pk]})
    assert list(IPFSRecord.objects.values_list("pk", flat=True)) == [pinned.pk]


# ---------------------------------------------------------------- request bodies

BIG = 64 * 1024 * 1024


def raw_post(live_server, path: str, *, headers: dict[str, str], announced: int = BIG, send: int = 256 * 1024,
             boundary: str = "flowcastboundary") -> tuple[int, str]:
    """POST a multipart body announcing `announced` bytes but sending only `send` of them, and read the answer.

    A server that reads the body before answering waits for the rest and never answers (the socket times
    out and the test fails); one that refuses first answers at once."""
    url = urlsplit(live_server.url)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {url.hostname}:{url.port}",
             f"Content-Type: multipart/form-data; boundary={boundary}", f"Content-Length: {announced}",
             *(f"{name}: {value}" for name, value in headers.items()), "", ""]
    with socket.create_connection((url.hostname, url.port), timeout=30) as connection:
        connection.sendall("\r\n".join(lines).encode() + head + b"\0" * send)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < 10:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1].decode(errors="replace")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/ipfs/uploads", "/api/videos/"])
def test_an_anonymous_upload_is_refused_before_its_body_is_read(live_server, path):
    status, body = raw_post(live_server, path, headers={})
    assert status == 401 and '"unauthorized"' in body
    status, body = raw_post(live_server, path, headers={"Authorization": "Bearer fc_not-a-token"})
    assert status == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/ipfs/uploads", "/api/videos/"])
def test_a_csrf_failing_upload_is_refused_before_its_body_is_read(live_server, alice, path):
    session = client_for(alice).cookies["sessionid"].value
    csrf = "a" * 32
    status, body = raw_post(live_server, path, headers={"Cookie": f"sessionid={session}; csrftoken={csrf}"})
    assert status == 403 and '"csrf_failed"' in body
    status, body = raw_post(live_server, path, headers={"Cookie": f"sessionid={session}; csrftoken={csrf}",
                                                        "X-CSRFToken": "b" * 32})
    assert status == 403 and '"csrf_failed"' in body


@pytest.mark.django_db(transaction=True)
def test_an_ipfs_upload_stops_at_its_own_limit_while_streaming(live_server, settings, alice, tmp_path):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "ipfs" / "blocks"
    settings.IPFS_UPLOAD_MAX_BYTES = 1024 * 1024  # the videos' limit (MEDIA_MAX_UPLOAD_BYTES) stays 4 GiB
    _, raw_token = api_token_create(user=alice, name="t")
    status, body = raw_post(live_server, "/api/ipfs/uploads", headers={"Authorization": f"Bearer {raw_token}"},
                            announced=BIG, send=2 * 1024 * 1024)
    assert status == 413 and '"too_large"' in body and str(1024 * 1024) in body
    assert not IPFSRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_bytes_past_the_limit_are_counted_as_they_stream(live_server, settings, alice, tmp_path):
    """An announced size within the allowance for form fields does not let the file itself run past the limit:
    the bytes are counted as they arrive, and the answer comes before the rest of the body is sent."""
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "ipfs" / "blocks"
    settings.IPFS_UPLOAD_MAX_BYTES = 1000
    _, raw_token = api_token_create(user=alice, name="t")
    status, body = raw_post(live_server, "/api/ipfs/uploads", headers={"Authorization": f"Bearer {raw_token}"},
                            announced=900 * 1024, send=200 * 1024)
    assert status == 413 and '"too_large"' in body and "largest allowed is 1000 bytes" in body
    assert not IPFSRecord.objects.exists()


@pytest.mark.django_db
def test_stored_bytes_quota(settings, media_root, alice, bob, tmp_path, make_clip):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "ipfs" / "blocks"
    clip = make_clip(seconds=1).read_bytes()
    settings.USER_STORAGE_QUOTA_BYTES = len(clip) + 100
    as_alice = client_for(alice)
    first = as_alice.post("/api/videos/", {"title": "one", "file": SimpleUploadedFile("a.mp4", clip)})
    assert first.status_code == 201, first.content
    second = as_alice.post("/api/videos/", {"title": "two", "file": SimpleUploadedFile("b.mp4", clip)})
    assert second.status_code == 403 and second.json()["code"] == "quota_exceeded"
    assert "quota" in second.json()["message"]
    response = upload(as_alice, data=b"y" * 200)
    assert response.status_code == 403 and response.json()["code"] == "quota_exceeded"
    assert upload(as_alice, data=b"y" * 50).status_code == 201  # what still fits
    assert Video.objects.filter(owner=alice).count() == 1
    assert upload(client_for(bob), data=b"y" * 200).status_code == 201  # a quota is per user


@pytest.mark.django_db
def test_queued_transcodes_quota(settings, media_root, alice, make_clip):
    settings.USER_QUEUED_TRANSCODES_MAX = 2
    clip = make_clip(seconds=1).read_bytes()
    as_alice = client_for(alice)
    def upload_video(title):
        return as_alice.post("/api/videos/", {"title": title, "file": SimpleUploadedFile("a.mp4", clip)})

    for title in ("one", "two"):
        assert upload_video(title).status_code == 201
    third = upload_video("three")
    assert third.status_code == 403 and third.json()["code"] == "quota_exceeded"
    assert "transcodes" in third.json()["message"]
    TranscodeJob.objects.filter(video__title="one").update(state=TranscodeJob.State.SUCCEEDED)
    assert upload_video("three").status_code == 201
