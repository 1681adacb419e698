"""Upload → ready through a real django-q2 transcode cluster; bad input and a killed worker on the way."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from media_pipeline import services
from media_pipeline.models import TranscodeJob, Video
from tests.fixtures.processes import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def start_long_cluster(q_cluster_factory, media_root, settings):
    def start():
        return q_cluster_factory(name=settings.TRANSCODE_CLUSTER, env={"MEDIA_ROOT": str(media_root)})

    return start


@pytest.fixture
def creator(transactional_db):
    return User.objects.create_user(email="creator@example.com", password="pw-123456-long")


def status_of(video_id: int) -> str:
    return Video.objects.get(pk=video_id).status


def test_upload_to_ready_through_a_real_cluster(start_long_cluster, creator, make_clip, media_root):
    cluster = start_long_cluster()
    client = Client()
    client.force_login(creator)
    clip = make_clip(width=640, height=360, seconds=3)
    response = client.post("/api/videos/", {"title": "e2e", "file": SimpleUploadedFile("e2e.mp4", clip.read_bytes())})
    assert response.status_code == 201, response.content
    video_id = response.json()["id"]
    wait_for(lambda: status_of(video_id) in {"ready", "failed"}, timeout=180, what="video ready")
    video = Video.objects.get(pk=video_id)
    assert video.status == "ready", f"{video.error_message}\n{cluster.log_tail()}"
    job = client.get(f"/api/videos/{video_id}/job").json()
    assert job["state"] == "succeeded" and job["progress"] == 100
    play = client.get(f"/api/videos/{video_id}/playback").json()
    assert client.get(play["master_url"]).status_code == 200
    assert (Path(media_root) / video.hls_path / "master.m3u8").is_file()


def test_bad_inputs_fail_readably_and_the_worker_keeps_working(start_long_cluster, creator, make_clip, tmp_path,
                                                               settings):
    settings.USER_QUEUED_TRANSCODES_MAX = 10  # four transcodes at once, more than one user's default quota
    start_long_cluster()
    bad = {
        "empty.mp4": b"",
        "text.mp4": b"not a video\n" * 50,
        "cut.mp4": make_clip(width=320, height=240, seconds=3).read_bytes()[:20000],
    }
    ids = []
    for name, data in bad.items():
        path = tmp_path / name
        path.write_bytes(data)
        with open(path, "rb") as file:
            video = Video(owner=creator, title=name)
            video.source.save(name, File(file), save=False)
            video.save()  # autocommit: the on-commit hook queues it on the transcode cluster
        ids.append(video.pk)
    good = services.video_upload(owner=creator, title="good", upload=SimpleUploadedFile(
        "good.mp4", make_clip(width=320, height=240, seconds=2).read_bytes()))
    everything = [*ids, good.pk]
    wait_for(lambda: Video.objects.filter(pk__in=everything, status__in=["ready", "failed"]).count() == len(everything),
             timeout=180, what="every video done")
    assert status_of(good.pk) == "ready"
    for video_id in ids:
        video = Video.objects.get(pk=video_id)
        assert video.status == "failed" and video.error_message, video.title
    assert Video.objects.get(title="empty.mp4").error_message == "The file is empty."
    assert "not a video" in Video.objects.get(title="text.mp4").error_message


def test_killed_worker_publishes_nothing_and_the_requeued_job_completes(start_long_cluster, creator, make_clip,
                                                                       media_root):
    cluster = start_long_cluster()
    video = services.video_upload(owner=creator, title="long one", upload=SimpleUploadedFile(
        "long.mp4", make_clip(width=1280, height=720, seconds=10).read_bytes()))
    job = video.transcode_jobs.get()

    def running_with_progress():
        job.refresh_from_db()
        return job.state == "running" and job.progress > 0

    wait_for(running_with_progress, timeout=120, interval=0.2, what="transcode under way")
    cluster.kill()  # SIGKILL to the whole cluster: sentinel, worker and its ffmpeg
    job.refresh_from_db()
    video.refresh_from_db()
    assert job.state == "running" and job.progress < 100
    assert video.status == "processing" and not video.hls_path and not video.renditions.exists()
    folder = services.video_folder(video.pk)
    assert not any(p.name.startswith("out-") for p in folder.iterdir()), "nothing published by the killed run"

    start_long_cluster()
    # The sweeper (a django-q2 schedule in production) finds the silent job and requeues it.
    assert services.transcode_jobs_sweep(older_than=timedelta(0)).requeued == 1
    wait_for(lambda: status_of(video.pk) in {"ready", "failed"}, timeout=240, what="retried video done")
    video.refresh_from_db()
    job.refresh_from_db()
    assert video.status == "ready" and job.state == TranscodeJob.State.SUCCEEDED and job.attempts == 2
    assert sorted(p.name for p in folder.iterdir()) == [f"out-{job.pk}"], "the killed run's work folder is gone"
