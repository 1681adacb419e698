"""Issue 15 item 5 (media): a 1×1 source is refused; a variable-frame-rate source comes out at a standard rate."""

from __future__ import annotations

import re
import subprocess

import pytest
from django.conf import settings
from django.core.files import File

from accounts.models import User
from media_pipeline import services
from media_pipeline.hls.command import build_command
from media_pipeline.hls.layout import HLS_DIR, LOG_NAME
from media_pipeline.hls.runner import run_ffmpeg
from media_pipeline.ladder import plan_ladder, snap_fps
from media_pipeline.models import Video
from media_pipeline.probe import probe_source
from tests.fixtures.clips import require_ffmpeg

LADDER = [("720p", 720, 2800), ("360p", 360, 800)]


def ffmpeg(*args: str) -> None:
    subprocess.run([settings.FFMPEG_BINARY, "-hide_banner", "-loglevel", "error", "-y", *args], check=True,
                   capture_output=True)


@pytest.fixture
def owner(db, settings, media_root):
    return User.objects.create_user(email="creator@example.com", password="pw-123456-long")


def test_a_one_pixel_source_fails_with_a_clear_message(owner, tmp_path):
    require_ffmpeg()
    source = tmp_path / "dot.mkv"
    # Scaled down from 16x16: ffmpeg 7.0's color source refuses a 1x1 size of its own.
    ffmpeg("-f", "lavfi", "-i", "color=c=red:size=16x16:rate=10", "-t", "1", "-vf", "scale=1:1", "-c:v", "ffv1",
           str(source))
    with open(source, "rb") as file:
        video = Video(owner=owner, title="dot")
        video.source.save("dot.mkv", File(file), save=False)
        video.save()
    job = services.transcode_run(job_id=video.transcode_jobs.get().pk)
    video.refresh_from_db()
    assert job.state == "failed" and video.status == "failed"
    assert video.error_message == (
        f"The picture is 1×1 pixels; the smallest we accept is {settings.MEDIA_MIN_SIDE}×{settings.MEDIA_MIN_SIDE}.")
    assert not video.hls_path and not video.renditions.exists()


@pytest.mark.parametrize(("measured", "expected"), [
    (31.755, 30.0), (29.97, 30000 / 1001), (23.9, 24000 / 1001), (49.2, 50.0), (59.6, 60000 / 1001), (10.0, 10.0),
])
def test_rates_snap_to_the_nearest_standard_one(measured, expected):
    assert snap_fps(measured) == pytest.approx(expected, abs=1e-9)


def test_a_variable_frame_rate_source_comes_out_at_a_standard_rate(tmp_path):
    require_ffmpeg()
    # Frame durations alternating 1/30 and 1/34 s (a phone's variable rate): an average of ~31.8 fps.
    source = tmp_path / "vfr.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "4",
           "-vf", "settb=1/90000,setpts='(floor(N/2)*(1/30+1/34)+mod(N\\,2)/30)/TB'", "-fps_mode", "vfr",
           "-enc_time_base", "1/90000", "-video_track_timescale", "90000",
           "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(source))
    info = probe_source(str(source), ffprobe=settings.FFPROBE_BINARY, limits=services.probe_limits())
    assert 31.5 < info.fps < 32.2, info.fps
    plan = plan_ladder(width=info.width, height=info.height, fps=info.fps, has_audio=False, ladder=LADDER,
                       max_fps=60, segment_seconds=2, audio_kbps=128)
    assert plan.fps == 30.0
    folder = tmp_path / "out"
    (folder / HLS_DIR).mkdir(parents=True)
    command = build_command(source=source, source_format=info.format_name, folder=folder, plan=plan,
                            preset="veryfast", ffmpeg_binary=settings.FFMPEG_BINARY)
    run_ffmpeg(command, cwd=tmp_path, duration=info.duration, log_path=folder / LOG_NAME)
    segment = sorted((folder / HLS_DIR).rglob("*.ts"))[0]
    # The output's stream rate as ffmpeg reads it back (r_frame_rate, "30 fps").
    header = subprocess.run([settings.FFMPEG_BINARY, "-hide_banner", "-i", str(segment)], capture_output=True,
                            text=True).stderr
    assert re.search(r"Video: h264.*, 30 fps,", header), header
