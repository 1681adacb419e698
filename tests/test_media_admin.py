"""Admin of videos: list with thumbnail/status/progress/duration, detail with renditions and jobs, actions, upload checks."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from media_pipeline import services
from media_pipeline.models import TranscodeJob, Video


# Each test its own MEDIA_ROOT (tests/fixtures/media.py).
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def staff_client(client, db):
    admin = User.objects.create_superuser(email="admin@example.com", password="pw-123456-long")
    client.force_login(admin)
    client.user = admin
    return client


@pytest.fixture
def ready(staff_client, make_clip):
    clip = make_clip(width=320, height=240, seconds=1)
    video = services.video_upload(owner=staff_client.user, title="Sunset", upload=SimpleUploadedFile("s.mp4", clip.read_bytes()))
    services.transcode_run(job_id=video.transcode_jobs.get().pk)
    video.refresh_from_db()
    return video


def test_list_shows_thumbnail_status_progress_duration_in_fixed_queries(staff_client, ready):
    response = staff_client.get("/admin/media_pipeline/video/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sunset" in html and f"/play/{ready.pk}/" in html and "<progress" in html
    assert 'value="100"' in html and "0:01" in html and "Ready" in html
    with CaptureQueriesContext(connection) as few:
        staff_client.get("/admin/media_pipeline/video/")
    for i in range(5):
        Video.objects.create(owner=ready.owner, title=f"more {i}")
    with CaptureQueriesContext(connection) as many:
        staff_client.get("/admin/media_pipeline/video/")
    assert len(many) == len(few)


def test_detail_shows_renditions_and_jobs(staff_client, ready):
    html = staff_client.get(f"/admin/media_pipeline/video/{ready.pk}/change/").content.decode()
    assert "320" in html and "avc1." in html and "succeeded" in html.lower()


def test_retranscode_and_delete_outputs_actions(staff_client, ready):
    url = "/admin/media_pipeline/video/"
    response = staff_client.post(url, {"action": "retranscode", "_selected_action": [ready.pk]}, follow=True)
    assert "Queued 1 transcode" in response.content.decode()
    assert ready.transcode_jobs.filter(state=TranscodeJob.State.QUEUED).count() == 1
    response = staff_client.post(url, {"action": "delete_outputs", "_selected_action": [ready.pk]}, follow=True)
    ready.refresh_from_db()
    assert not ready.hls_path and not ready.renditions.exists()


def test_admin_upload_refuses_a_text_file_with_a_readable_message(staff_client):
    response = staff_client.post("/admin/media_pipeline/video/add/", {
        "owner": staff_client.user.pk, "title": "bad", "description": "", "visibility": "public",
        "source": SimpleUploadedFile("notes.mp4", b"hello, not a video\n" * 10),
        "renditions-TOTAL_FORMS": 0, "renditions-INITIAL_FORMS": 0,
        "transcode_jobs-TOTAL_FORMS": 0, "transcode_jobs-INITIAL_FORMS": 0,
    })
    assert response.status_code == 200
    assert "not a video container" in response.content.decode()
    assert not Video.objects.exists()


def test_admin_upload_queues_a_transcode(staff_client, make_clip):
    clip = make_clip(width=320, height=240, seconds=1)
    response = staff_client.post("/admin/media_pipeline/video/add/", {
        "owner": staff_client.user.pk, "title": "good", "description": "", "visibility": "public",
        "source": SimpleUploadedFile("good.mp4", clip.read_bytes()),
        "renditions-TOTAL_FORMS": 0, "renditions-INITIAL_FORMS": 0,
        "transcode_jobs-TOTAL_FORMS": 0, "transcode_jobs-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    video = Video.objects.get(title="good")
    assert video.status == "queued" and video.transcode_jobs.get().state == "queued"


def test_admin_delete_removes_files(staff_client, ready, django_capture_on_commit_callbacks):
    folder = services.video_folder(ready.pk)
    assert folder.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/admin/media_pipeline/video/{ready.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Video.objects.exists() and not folder.exists()


def test_admin_upload_over_the_limit_says_so(staff_client, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 10_000
    response = staff_client.post("/admin/media_pipeline/video/add/", {
        "owner": staff_client.user.pk, "title": "huge", "description": "", "visibility": "public",
        "source": SimpleUploadedFile("huge.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (2 * 1024 * 1024)),
        "renditions-TOTAL_FORMS": 0, "renditions-INITIAL_FORMS": 0,
        "transcode_jobs-TOTAL_FORMS": 0, "transcode_jobs-INITIAL_FORMS": 0,
    }, follow=True)
    assert "the largest allowed is 10000 bytes" in response.content.decode()
    assert not Video.objects.exists()
