"""The videos API through the project's NinjaAPI (Django test client: auth, handlers and URLs as deployed)."""

from __future__ import annotations

import time

import m3u8
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from media_pipeline import services
from media_pipeline.models import TranscodeJob, Video


# Each test its own MEDIA_ROOT (tests/fixtures/media.py).
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def creator(db):
    return User.objects.create_user(email="creator@example.com", password="pw-123456-long")


@pytest.fixture
def viewer(db):
    return User.objects.create_user(email="viewer@example.com", password="pw-123456-long")


def client_for(user=None) -> Client:
    client = Client()
    if user:
        client.force_login(user)
    return client


def upload(client, path=None, *, data: bytes | None = None, name="clip.mp4", **fields):
    content = data if data is not None else path.read_bytes()
    form = {"title": "My clip", **fields, "file": SimpleUploadedFile(name, content, content_type="video/mp4")}
    return client.post("/api/videos/", form)


def ready_video(owner, clip, *, visibility="public", **extra) -> Video:
    with open(clip, "rb") as file:
        video = services.video_upload(owner=owner, upload=SimpleUploadedFile("c.mp4", file.read()), title="t",
                                      visibility=visibility, **extra)
    job = video.transcode_jobs.get()
    services.transcode_run(job_id=job.pk)
    video.refresh_from_db()
    assert video.status == "ready"
    return video


def test_upload_creates_a_queued_video_owned_by_the_caller(creator, make_clip):
    response = upload(client_for(creator), make_clip(width=320, height=240, seconds=1), visibility="unlisted",
                      description="hello")
    assert response.status_code == 201, response.content
    body = response.json()
    video = Video.objects.get(pk=body["id"])
    assert video.owner == creator and body["owner_id"] == creator.pk
    assert body["status"] == "queued" and body["visibility"] == "unlisted" and body["description"] == "hello"
    assert video.transcode_jobs.get().state == "queued"
    assert video.source.name.startswith(f"sources/{creator.pk}/")


@pytest.mark.parametrize(
    "data,fields,status,code",
    [
        (b"", {}, 400, "empty_file"),
        (b"just some text, not a video" * 10, {}, 415, "unsupported_media_type"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, {}, 415, "unsupported_media_type"),
        (None, {"title": "   "}, 400, "invalid"),
        (None, {"visibility": "paid"}, 400, "invalid"),
        (None, {"visibility": "secret"}, 422, "validation_error"),
        (None, {"visibility": "paid", "price": "-5"}, 400, "invalid"),
    ],
)
def test_upload_rejects_bad_input_with_a_clear_4xx(creator, make_clip, data, fields, status, code):
    clip = make_clip(width=320, height=240, seconds=1)
    response = upload(client_for(creator), clip, data=data, **fields)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"]
    assert not Video.objects.exists()


def test_upload_over_the_size_limit_is_413(creator, make_clip, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    response = upload(client_for(creator), make_clip(width=320, height=240, seconds=1))
    assert response.status_code == 413 and "largest upload" in response.json()["message"]


def test_upload_needs_a_login(db, make_clip):
    response = upload(client_for(None), make_clip(width=320, height=240, seconds=1))
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_upload_without_a_file_is_400(creator):
    response = client_for(creator).post("/api/videos/", {"title": "x"})
    body = response.json()
    assert response.status_code == 400 and body["message"] == "Attach a video file." and body["fields"] == {"file": ["required"]}


def test_job_progress_detail_and_playback_of_a_ready_video(creator, viewer, make_clip):
    video = ready_video(creator, make_clip(width=640, height=360, seconds=3))
    owner_client = client_for(creator)
    job = owner_client.get(f"/api/videos/{video.pk}/job").json()
    assert job["state"] == "succeeded" and job["progress"] == 100 and job["attempts"] == 1
    detail = client_for(viewer).get(f"/api/videos/{video.pk}").json()
    assert detail["status"] == "ready" and [r["height"] for r in detail["renditions"]] == [360]
    assert detail["thumbnail_url"].startswith(f"/play/{video.pk}/")
    play = client_for(viewer).get(f"/api/videos/{video.pk}/playback")
    assert play.status_code == 200, play.content
    play = play.json()
    # The master is served through the signed link, and its relative URLs resolve under it.
    anonymous = client_for(None)
    master = anonymous.get(play["master_url"])
    assert master.status_code == 200 and master["Content-Type"] == "application/vnd.apple.mpegurl"
    parsed = m3u8.loads(b"".join(master.streaming_content).decode(), uri=play["master_url"])
    variant_url = play["master_url"].rsplit("/", 1)[0] + "/" + parsed.playlists[0].uri
    assert variant_url == play["variants"][0]["url"]
    variant = m3u8.loads(b"".join(anonymous.get(variant_url).streaming_content).decode())
    segment = anonymous.get(variant_url.rsplit("/", 1)[0] + "/" + variant.segments[0].uri)
    assert segment.status_code == 200 and segment["Content-Type"] == "video/mp2t"
    for key in ("thumbnail_url", "storyboard_vtt_url", "storyboard_image_url"):
        assert anonymous.get(play[key]).status_code == 200
    # A forged or tampered token, a path outside the output, a wrong video: refused.
    token = play["master_url"].split("/")[3]
    assert anonymous.get(play["master_url"].replace(token, token[:-2] + "ff")).status_code == 403
    assert anonymous.get(f"/play/{video.pk}/{token}/../../../../etc/passwd").status_code in (403, 404)
    assert anonymous.get(play["master_url"].replace(f"/play/{video.pk}/", f"/play/{video.pk + 1}/")).status_code == 403


def test_playback_link_expires(creator, make_clip, settings):
    video = ready_video(creator, make_clip(width=320, height=240, seconds=1))
    from media_pipeline.playback_urls import playback_token, signing_keys
    from media_pipeline.playback import media_url

    token = playback_token(video_id=video.pk, viewer_id=0, expires=int(time.time()) - 1, keys=signing_keys())
    response = client_for(creator).get(media_url(video=video, path=f"{video.hls_path}/master.m3u8", token=token))
    assert response.status_code == 403 and b"expired" in response.content


def test_private_and_paid_access(creator, viewer, make_clip):
    clip = make_clip(width=320, height=240, seconds=1)
    private = ready_video(creator, clip, visibility="private")
    paid = ready_video(creator, clip, visibility="paid", price=10**18)
    stranger, anonymous, owner = client_for(viewer), client_for(None), client_for(creator)
    assert stranger.get(f"/api/videos/{private.pk}").status_code == 404
    assert stranger.get(f"/api/videos/{private.pk}/playback").status_code == 404
    assert owner.get(f"/api/videos/{private.pk}/playback").status_code == 200
    assert stranger.get(f"/api/videos/{paid.pk}").json()["price"] == str(10**18)
    response = stranger.get(f"/api/videos/{paid.pk}/playback")
    assert response.status_code == 403 and response.json()["code"] == "payment_required"
    assert anonymous.get(f"/api/videos/{paid.pk}/playback").status_code == 403
    assert owner.get(f"/api/videos/{paid.pk}/playback").status_code == 200
    assert stranger.get(f"/api/videos/{private.pk}/job").status_code == 404
    assert stranger.get(f"/api/videos/{paid.pk}/job").status_code == 403


def test_playback_of_a_video_not_ready_is_409(creator, make_clip):
    response = upload(client_for(creator), make_clip(width=320, height=240, seconds=1))
    video_id = response.json()["id"]
    response = client_for(creator).get(f"/api/videos/{video_id}/playback")
    assert response.status_code == 409 and "not ready" in response.json()["message"]


def test_list_filters_and_runs_a_fixed_number_of_queries(creator, viewer):
    def make(owner, n, **kwargs):
        for i in range(n):
            Video.objects.create(owner=owner, title=f"v{i}", **kwargs)

    make(creator, 2, status="ready")
    make(creator, 1, status="ready", visibility="private")
    make(creator, 1, status="failed")
    make(viewer, 1, status="queued")
    stranger = client_for(viewer)
    body = stranger.get("/api/videos/").json()
    # The stranger sees the creator's ready public videos and their own, not private or failed ones.
    assert body["count"] == 3
    assert {item["owner_id"] for item in body["items"]} == {creator.pk, viewer.pk}
    assert stranger.get("/api/videos/", {"status": "ready"}).json()["count"] == 2
    assert stranger.get(f"/api/videos/?owner={viewer.pk}").json()["count"] == 1
    assert stranger.get("/api/videos/?status=bogus").status_code == 422
    assert client_for(creator).get("/api/videos/").json()["count"] == 4

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert stranger.get("/api/videos/?limit=50").status_code == 200
        return len(captured)

    few = queries_for_list()
    make(creator, 12, status="ready")
    assert queries_for_list() == few


def test_delete_removes_the_row_and_its_files(creator, viewer, make_clip, django_capture_on_commit_callbacks):
    video = ready_video(creator, make_clip(width=320, height=240, seconds=1))
    folder, source = services.video_folder(video.pk), video.source.path
    assert client_for(viewer).delete(f"/api/videos/{video.pk}").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(creator).delete(f"/api/videos/{video.pk}").status_code == 204
    assert not Video.objects.filter(pk=video.pk).exists() and not TranscodeJob.objects.exists()
    assert not folder.exists()
    import os

    assert not os.path.exists(source)
    assert client_for(creator).delete(f"/api/videos/{video.pk}").status_code == 404


def test_an_upload_announced_over_the_limit_is_refused_before_it_is_stored(creator, settings, tmp_path):
    """The body is cut off at the first chunk: nothing reaches the temporary folder or MEDIA_ROOT."""
    settings.MEDIA_MAX_UPLOAD_BYTES = 10_000
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    big = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (3 * 1024 * 1024)
    response = upload(client_for(creator), data=big)
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert "largest allowed is 10000 bytes" in response.json()["message"]
    assert list((tmp_path / "uploads").iterdir()) == [] and not Video.objects.exists()
