"""The media services on real ffmpeg: queueing, publish, failures with readable messages, interrupted runs."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import m3u8
import pytest
from django.conf import settings
from django.core.files import File

from accounts.models import User
from media_pipeline import services
from media_pipeline.models import Rendition, TranscodeJob, Video
from media_pipeline.signals import video_failed, video_ready


# Each test its own MEDIA_ROOT (tests/fixtures/media.py).
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def owner(db):
    return User.objects.create_user(email="creator@example.com", password="pw-123456-long")


def new_video(owner, path: Path, *, name: str | None = None, title: str = "clip") -> Video:
    """A video saved the way admin saves one: the post_save signal writes its TranscodeJob."""
    with open(path, "rb") as file:
        video = Video(owner=owner, title=title)
        video.source.save(name or path.name, File(file), save=False)
        video.save()
    return video


def run_latest_job(video: Video, **kwargs) -> TranscodeJob:
    job = video.transcode_jobs.get(state=TranscodeJob.State.QUEUED)
    return services.transcode_run(job_id=job.pk, **kwargs)


@pytest.fixture
def signals_seen():
    seen = []

    def on_ready(sender, video, **kwargs):
        seen.append(("ready", video.pk, video.status))

    def on_failed(sender, video, error, **kwargs):
        seen.append(("failed", video.pk, error))

    video_ready.connect(on_ready)
    video_failed.connect(on_failed)
    yield seen
    video_ready.disconnect(on_ready)
    video_failed.disconnect(on_failed)


def published_folders(video_id: int) -> list[str]:
    folder = services.video_folder(video_id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_saving_a_source_writes_a_queued_job_and_queues_it_on_commit(owner, make_clip, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        video = new_video(owner, make_clip(width=320, height=240, seconds=1))
    [job] = video.transcode_jobs.all()
    assert job.state == "queued" and Video.objects.get(pk=video.pk).status == "queued"
    assert len(callbacks) == 1
    # Saving again without a new source queues nothing; a new source cancels the old job.
    video.title = "renamed"
    video.save()
    assert video.transcode_jobs.count() == 1
    with open(make_clip(width=320, height=240, seconds=1), "rb") as file:
        video.source.save("other.mp4", File(file), save=True)
    assert list(video.transcode_jobs.values_list("state", flat=True)) == ["queued", "cancelled"]


def test_transcode_publishes_ladder_thumbnail_storyboard_and_sends_ready(owner, make_clip, signals_seen):
    video = new_video(owner, make_clip(width=640, height=360, seconds=3))
    job = run_latest_job(video)
    video.refresh_from_db()
    assert job.state == "succeeded" and job.progress == 100 and job.attempts == 1
    assert video.status == "ready" and video.ready_at and video.duration == pytest.approx(3, abs=0.1)
    assert (video.source_width, video.source_height, video.source_fps) == (640, 360, 30)
    assert video.source_video_codec == "h264" and video.source_audio_codec == "aac"
    root = Path(settings.MEDIA_ROOT)
    assert video.hls_path == f"videos/{video.pk}/out-{job.pk}/hls"
    master = m3u8.load(str(root / video.hls_path / "master.m3u8"))
    assert len(master.playlists) == 1
    for path in (video.thumbnail, video.storyboard_image, video.storyboard_vtt):
        assert (root / path).is_file() and (root / path).stat().st_size > 0
    [rendition] = Rendition.objects.filter(video=video)
    assert (rendition.width, rendition.height, rendition.playlist) == (640, 360, "360p/index.m3u8")
    assert rendition.bandwidth >= rendition.average_bandwidth > 0
    assert signals_seen == [("ready", video.pk, "ready")]
    # Only the published folder is left: no work folders, logs or commands inside it.
    assert published_folders(video.pk) == [f"out-{job.pk}"]
    assert not list((root / video.hls_path).parent.glob("*.log"))


def test_retranscode_replaces_the_published_folder(owner, make_clip, django_capture_on_commit_callbacks):
    video = new_video(owner, make_clip(width=320, height=240, seconds=1))
    first = run_latest_job(video)
    # Inline: no task is sent to a broker (on Redis it would outlive this test's rolled-back rows).
    with django_capture_on_commit_callbacks(execute=True), services.transcode_inline():
        second = services.transcode_request(video=video)
        services.transcode_run(job_id=second.pk)
    video.refresh_from_db()
    assert video.hls_path == f"videos/{video.pk}/out-{second.pk}/hls"
    assert published_folders(video.pk) == [f"out-{second.pk}"], "the old output is removed after the new one commits"
    assert first.pk != second.pk and video.renditions.count() == 1


def bad_inputs(make_clip, folder: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of bad input and (a piece of) the message it must end with."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, tuple[Path, str]] = {}

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    def ffmpeg(*args: str, name: str) -> Path:
        path = folder / name
        subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-y", *args, str(path)], check=True)
        return path

    good = make_clip(width=320, height=240, seconds=3).read_bytes()
    cases["empty"] = (write("empty.mp4", b""), "empty")
    cases["text renamed .mp4"] = (write("notes.mp4", b"Meeting notes\nnot a video at all\n" * 20), "not a video file")
    cases["random bytes"] = (write("noise.mp4", os.urandom(64 * 1024)), "not a video file")
    cases["mp4 header then garbage"] = (write("header.mp4", good[:32] + os.urandom(32 * 1024)), "truncated")
    cases["truncated mp4 (index missing)"] = (write("cut.mp4", good[: len(good) // 2]), "truncated")
    faststart = ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "4", "-c:v", "libx264",
                       "-preset", "ultrafast", "-movflags", "+faststart", name="faststart.mp4").read_bytes()
    cases["truncated mp4 (data cut)"] = (write("cut-data.mp4", faststart[: len(faststart) // 2]), "truncated")
    cases["audio only"] = (ffmpeg("-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-c:a", "aac",
                                  name="song.m4a"), "no video stream")
    # Not a container on the allow-list (tests/security/test_media_input.py): refused before its streams are read.
    cases["subtitles only"] = (write("subs.srt", b"1\n00:00:01,000 --> 00:00:02,000\nHello\n"), "not a video file")
    cases["still image"] = (ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", name="still.png"),
                            "not a video")
    cases["huge dimensions"] = (ffmpeg("-f", "lavfi", "-i", "color=size=4160x64:rate=5", "-t", "0.6", "-c:v", "libx264",
                                       "-preset", "ultrafast", name="wide.mp4"), "largest allowed is 4096x4096")
    cases["too short"] = (ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-frames:v", "2", "-c:v",
                                 "libx264", "-preset", "ultrafast", name="blink.mp4"), "at least")
    cases["too long"] = (make_clip(width=320, height=240, seconds=3), "longest allowed is 2 s")
    return cases


@pytest.fixture(scope="module")
def bad_input_files(make_clip, tmp_path_factory):
    return bad_inputs(make_clip, tmp_path_factory.mktemp("bad"))


BAD_KINDS = ["empty", "text renamed .mp4", "random bytes", "mp4 header then garbage", "truncated mp4 (index missing)",
             "truncated mp4 (data cut)", "audio only", "subtitles only", "still image", "huge dimensions",
             "too short", "too long"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_input_fails_the_video_with_a_readable_message(kind, owner, bad_input_files, settings, signals_seen):
    if kind == "too long":
        settings.MEDIA_MAX_DURATION = 2
    path, expected = bad_input_files[kind]
    video = new_video(owner, path)
    job = run_latest_job(video)
    video.refresh_from_db()
    assert job.state == "failed" and video.status == "failed"
    assert expected.lower() in video.error_message.lower(), video.error_message
    assert job.error == video.error_message
    assert "Traceback" not in video.error_message and len(video.error_message) < 400
    assert signals_seen == [("failed", video.pk, video.error_message)]
    assert not video.hls_path and not video.thumbnail and not video.renditions.exists()
    assert published_folders(video.pk) == [], "nothing of a failed run stays on disk"


def test_missing_source_file_fails_readably(owner, make_clip, signals_seen):
    video = new_video(owner, make_clip(width=320, height=240, seconds=1))
    Path(video.source.path).unlink()
    run_latest_job(video)
    video.refresh_from_db()
    assert video.status == "failed" and video.error_message == "The source file is missing."


def find_ffmpeg_pid_of(work_marker: str) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(work_marker.encode() in part for part in cmdline) and b"ffmpeg" in cmdline[0]:
            return int(entry.name)
    return None


def test_ffmpeg_killed_mid_run_publishes_nothing_and_the_retry_completes(
    owner, make_clip, signals_seen, django_capture_on_commit_callbacks
):
    video = new_video(owner, make_clip(width=1280, height=720, seconds=6))
    job = video.transcode_jobs.get()
    killed = []

    def kill_ffmpeg_once(percent, speed):
        if not killed:
            # The full path (this run's MEDIA_ROOT): other test runs on the machine have a job with this pk too.
            pid = find_ffmpeg_pid_of(str(services.video_folder(video.pk) / f"{services.WORK_PREFIX}{job.pk}-"))
            if pid:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = services.transcode_run(job_id=job.pk, on_progress=kill_ffmpeg_once)
    assert killed, "ffmpeg was not found to kill"
    video.refresh_from_db()
    assert result.state == "queued" and "signal 9" in result.error
    assert video.status == "queued" and not video.hls_path and not video.renditions.exists()
    assert published_folders(video.pk) == [], "a killed run leaves no output, not even its work folder"
    assert signals_seen == []
    assert len(callbacks) == 1, "the retry is queued on commit"
    # The retry (what the queued task does) completes.
    job = services.transcode_run(job_id=job.pk)
    video.refresh_from_db()
    assert job.state == "succeeded" and job.attempts == 2 and video.status == "ready"
    assert published_folders(video.pk) == [f"out-{job.pk}"]


def test_a_cancelled_job_does_not_publish(owner, make_clip):
    video = new_video(owner, make_clip(width=320, height=240, seconds=1))
    job = video.transcode_jobs.get()

    def cancel(percent, speed):
        TranscodeJob.objects.filter(pk=job.pk).update(state=TranscodeJob.State.CANCELLED)

    result = services.transcode_run(job_id=job.pk, on_progress=cancel)
    video.refresh_from_db()
    assert result.state == "cancelled" and not video.hls_path and published_folders(video.pk) == []


def test_sweeper_requeues_a_silent_job_and_gives_up_after_the_attempt_limit(owner, make_clip, settings,
                                                                            django_capture_on_commit_callbacks):
    from datetime import timedelta

    settings.TRANSCODE_MAX_ATTEMPTS = 2
    video = new_video(owner, make_clip(width=320, height=240, seconds=1))
    job = video.transcode_jobs.get()
    # A worker claimed it and died (no heartbeat since).
    TranscodeJob.objects.filter(pk=job.pk).update(state="running", attempts=1, heartbeat_at=None)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.transcode_jobs_sweep(older_than=timedelta(seconds=60)).requeued == 1
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.state == "queued"
    TranscodeJob.objects.filter(pk=job.pk).update(state="running", attempts=2, heartbeat_at=None)
    assert services.transcode_jobs_sweep(older_than=timedelta(seconds=60)).failed == 1
    video.refresh_from_db()
    assert video.status == "failed" and "giving up" in video.error_message
    # A live job (fresh heartbeat) is left alone.
    second = services.transcode_request(video=video)
    TranscodeJob.objects.filter(pk=second.pk).update(state="running", attempts=1)
    services.transcode_jobs_sweep(older_than=timedelta(seconds=60))
    second.refresh_from_db()
    assert second.state == "running"


def test_sweeper_schedule_is_created_by_a_migration(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="media: requeue stalled transcodes")
    assert schedule.func == "media_pipeline.tasks.transcode_sweep" and schedule.schedule_type == Schedule.MINUTES


def test_delete_sends_video_deleting_while_the_row_still_exists(owner, make_clip):
    from media_pipeline.signals import video_deleting

    video = new_video(owner, make_clip(width=320, height=240, seconds=1))
    seen = []

    def on_deleting(sender, video, **kwargs):
        seen.append(Video.objects.filter(pk=video.pk).exists())

    video_deleting.connect(on_deleting)
    try:
        services.video_delete(video=video, actor=owner)
    finally:
        video_deleting.disconnect(on_deleting)
    assert seen == [True] and not Video.objects.filter(pk=video.pk).exists()


def test_deleting_a_video_while_it_transcodes_stops_cleanly(owner, make_clip, django_capture_on_commit_callbacks):
    video = new_video(owner, make_clip(width=1280, height=720, seconds=6))
    job = video.transcode_jobs.get()
    deleted = []

    def delete_once(percent, speed):
        if not deleted:
            with django_capture_on_commit_callbacks(execute=True):
                services.video_delete(video=Video.objects.get(pk=video.pk), actor=owner)
            deleted.append(True)

    result = services.transcode_run(job_id=job.pk, on_progress=delete_once)
    assert deleted and result is not None
    assert not Video.objects.filter(pk=video.pk).exists() and not TranscodeJob.objects.exists()
    assert published_folders(video.pk) == [], "the stopped run left nothing behind"


def test_a_worker_given_up_on_cannot_publish_over_its_successor(owner, make_clip):
    """The sweeper requeued a silent job and another worker claimed it: the first worker's run is fenced off."""
    video = new_video(owner, make_clip(width=320, height=240, seconds=1))
    job = video.transcode_jobs.get()

    def successor_claims(percent, speed):
        # What the sweeper plus a second worker do meanwhile: state running again, attempt 2.
        TranscodeJob.objects.filter(pk=job.pk).update(attempts=2)

    result = services.transcode_run(job_id=job.pk, on_progress=successor_claims)
    video.refresh_from_db()
    assert result.state == "running" and result.attempts == 2, "left to the successor"
    assert not video.hls_path and published_folders(video.pk) == []


def test_sweeper_rings_again_for_a_queued_job_whose_message_was_lost(owner, make_clip,
                                                                     django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    video = new_video(owner, make_clip(width=320, height=240, seconds=1))
    job = video.transcode_jobs.get()
    TranscodeJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.transcode_jobs_sweep(older_than=timedelta(seconds=60)).rung == 1
    assert len(callbacks) == 1, "queued again on commit, not before"
    job.refresh_from_db()
    assert job.state == "queued" and job.heartbeat_at > timezone.now() - timedelta(minutes=1)
    # Rung once per silence: a second sweep right after leaves it alone.
    assert services.transcode_jobs_sweep(older_than=timedelta(seconds=60)).rung == 0
