"""Security, media input (issue 12 §1): an upload must not make ffprobe or ffmpeg open any other file.

Each crafted input below is a playlist, manifest, list or file-name pattern that points ffmpeg at
another file: the victim's source, a pure red clip under MEDIA_ROOT/sources/<victim>/. Before the fix
the DASH and HLS inputs were probed as videos and transcoded the victim's frames into the attacker's
public ladder. Each must be refused by the probe with a readable message, fail its transcode job with
that message, and leave no output at all (and so no red frame) anywhere under MEDIA_ROOT.

Real ffprobe and ffmpeg throughout; the only stand-in is a logging shim in front of the real binaries
(it execs them) to see every command line and working folder of a whole job.
"""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from media_pipeline import services
from media_pipeline.models import TranscodeJob, Video
from media_pipeline.hls.command import build_command
from media_pipeline.hls.layout import HLS_DIR, MASTER_NAME, THUMBNAIL_NAME
from media_pipeline.ladder import plan_ladder
from media_pipeline.probe import SOURCE_DEMUXERS, InvalidMedia, probe_source, sniff_container
from tests.fixtures.clips import require_ffmpeg
from tests.media_helpers import transcode_clip

REFUSAL = "not a video file we accept"
MPD = (
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" '
    'type="static" mediaPresentationDuration="PT2S" minBufferTime="PT1S"><Period>'
    '<AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="100000" width="320" height="240">'
    "<BaseURL>{url}</BaseURL></Representation></AdaptationSet></Period></MPD>\n"
)
HLS = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{url}\n#EXT-X-ENDLIST\n"
PATTERN = "frame%03d.jpg"


# Each test its own MEDIA_ROOT (tests/fixtures/media.py).
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture(scope="module")
def red_clip(tmp_path_factory) -> Path:
    """The victim's video: every frame pure red, so any frame of it in an output is recognisable."""
    require_ffmpeg()
    path = tmp_path_factory.mktemp("victim") / "paid-lesson.mp4"
    subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=red:size=320x240:rate=30", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def red_still(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("still") / "red.jpg"
    subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:size=320x240",
                    "-frames:v", "1", str(path)], check=True)
    return path.read_bytes()


@pytest.fixture
def victim_source(db, red_clip) -> Path:
    """Another creator's paid video, stored where uploads go (MEDIA_ROOT/sources/<owner>/)."""
    victim = User.objects.create_user(email="victim@example.com", password="pw-123456-long")
    with open(red_clip, "rb") as file:
        video = Video(owner=victim, title="paid lesson", visibility=Video.Visibility.PAID, price=10**18)
        video.source.save(red_clip.name, File(file), save=False)
        video.save()
    return Path(video.source.path)


@pytest.fixture
def attacker(db):
    return User.objects.create_user(email="attacker@example.com", password="pw-123456-long")


def crafted(kind: str, victim: Path) -> tuple[str, bytes]:
    """(upload name, bytes) of one crafted input pointing at `victim`."""
    relative = f"../{victim.parent.name}/{victim.name}"  # from the attacker's own sources/<id>/ folder
    victim_b64 = base64.b64encode(victim.read_bytes()).decode()
    return {
        # Bytes 4-8 read `skip` (an mp4 box type), so the upload sniff lets it in; ffmpeg sees DASH.
        "dash behind an mp4-looking comment": ("holiday.mp4", ("<!--skip-->\n" + MPD.format(url=victim)).encode()),
        "dash manifest named .mp4, relative BaseURL": (
            "trailer.mp4", ('<?xml version="1.0" encoding="UTF-8"?>\n' + MPD.format(url=relative)).encode()),
        "dash with a subfile: BaseURL": (
            "cut.mp4", ("<!--skip-->\n" + MPD.format(url=f"subfile,,start,0,end,0,,:{victim}")).encode()),
        "hls with a file:// segment": ("list.m3u8", HLS.format(url=f"file://{victim}").encode()),
        "hls with an absolute path segment": ("abs.m3u8", HLS.format(url=victim).encode()),
        "hls with a relative path segment": ("rel.m3u8", HLS.format(url=relative).encode()),
        "hls with a data: URI segment": ("data.m3u8", HLS.format(url=f"data:video/mp4;base64,{victim_b64}").encode()),
        "ffconcat list": ("reel.mp4", f"ffconcat version 1.0\nfile '{victim}'\nfile '{relative}'\n".encode()),
    }[kind]


KINDS = ["dash behind an mp4-looking comment", "dash manifest named .mp4, relative BaseURL",
         "dash with a subfile: BaseURL", "hls with a file:// segment", "hls with an absolute path segment",
         "hls with a relative path segment", "hls with a data: URI segment", "ffconcat list",
         "image-sequence pattern"]


def attack_video(kind: str, *, attacker, victim: Path, red_still: bytes) -> Video:
    """The attacker's video with the crafted source, saved as admin and the transcode command save one."""
    if kind == "image-sequence pattern":
        # Uploads' names are sanitised (no `%`), but a storage or an operator could keep one: a source
        # named like an image2 pattern, beside a numbered sequence that is not the upload.
        video = Video(owner=attacker, title="pattern")
        video.save()
        folder = Path(settings.MEDIA_ROOT) / "sources" / str(attacker.pk)
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(1, 31):
            (folder / f"frame{index:03d}.jpg").write_bytes(red_still)
        (folder / PATTERN).write_bytes(red_still)
        Video.objects.filter(pk=video.pk).update(source=f"sources/{attacker.pk}/{PATTERN}")
        with services.transcode_inline():
            services.transcode_request(video=Video.objects.get(pk=video.pk))
        return Video.objects.get(pk=video.pk)
    name, data = crafted(kind, victim)
    video = Video(owner=attacker, title=kind, visibility=Video.Visibility.PUBLIC)
    video.source.save(name, SimpleUploadedFile(name, data), save=False)
    video.save()
    return video


def run_job(video: Video) -> TranscodeJob:
    job = video.transcode_jobs.get(state=TranscodeJob.State.QUEUED)
    return services.transcode_run(job_id=job.pk)


def red_frame(path: Path) -> bool:
    """Whether the first picture of `path` (a segment, a poster, a sprite) is the victim's red."""
    result = subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-i", str(path), "-frames:v", "1",
                             "-vf", "scale=1:1", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True)
    if len(result.stdout) < 3:
        return False
    red, green, blue = result.stdout[:3]
    return red > 180 and green < 80 and blue < 80


def outputs(media_root: Path) -> list[Path]:
    """Every file the pipeline wrote (everything under MEDIA_ROOT but the uploaded sources)."""
    return [p for p in media_root.rglob("*") if p.is_file() and p.relative_to(media_root).parts[0] != "sources"]


def assert_nothing_of_the_victim_published(media_root: Path, video: Video) -> None:
    leaked = [p.relative_to(media_root).as_posix() for p in outputs(media_root) if p.suffix in {".ts", ".jpg"}
              and red_frame(p)]
    assert leaked == [], f"the victim's frames were transcoded into the attacker's video: {leaked}"
    assert outputs(media_root) == [], "a refused source leaves no output at all"
    video.refresh_from_db()
    assert not video.hls_path and not video.thumbnail and not video.storyboard_image and not video.renditions.exists()


def assert_readable_refusal(message: str, victim: Path) -> None:
    assert REFUSAL in message, message
    assert "Traceback" not in message and len(message) < 400, message
    assert str(victim.parent) not in message and "base64" not in message, "the message echoes no paths or data"


@pytest.mark.parametrize("kind", KINDS)
def test_the_probe_refuses_inputs_that_point_at_other_files(kind, attacker, victim_source, red_still):
    video = attack_video(kind, attacker=attacker, victim=victim_source, red_still=red_still)
    with pytest.raises(InvalidMedia) as refused:
        probe_source(video.source.path, ffprobe=settings.FFPROBE_BINARY)
    assert_readable_refusal(refused.value.message, victim_source)


@pytest.mark.parametrize("kind", KINDS)
def test_the_transcode_job_fails_readably_and_publishes_nothing(kind, attacker, victim_source, red_still, media_root):
    video = attack_video(kind, attacker=attacker, victim=victim_source, red_still=red_still)
    job = run_job(video)
    assert_nothing_of_the_victim_published(media_root, video)
    assert job.state == TranscodeJob.State.FAILED and video.status == Video.Status.FAILED
    assert_readable_refusal(video.error_message, victim_source)
    assert job.error == video.error_message


@pytest.mark.parametrize("kind", KINDS[:-1])
def test_through_the_api_each_is_refused_at_upload_or_fails_its_job(kind, attacker, victim_source, media_root):
    name, data = crafted(kind, victim_source)
    client = Client()
    client.force_login(attacker)
    response = client.post("/api/videos/", {"title": "holiday", "visibility": "public",
                                            "file": SimpleUploadedFile(name, data, content_type="video/mp4")})
    if sniff_container(data[:512]) is None:
        assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"
        return
    assert response.status_code == 201, response.content
    video = Video.objects.get(pk=response.json()["id"])
    run_job(video)
    detail = client.get(f"/api/videos/{video.pk}").json()
    assert detail["status"] == "failed"
    assert_readable_refusal(detail["error_message"], victim_source)
    assert client.get(f"/api/videos/{video.pk}/job").json()["state"] == "failed"
    assert client.get(f"/api/videos/{video.pk}/playback").status_code == 409
    assert_nothing_of_the_victim_published(media_root, video)


def test_the_comment_prefixed_dash_manifest_passes_the_upload_sniff(victim_source):
    """Why the probe must refuse it: the cheap sniff at upload cannot tell it from an mp4."""
    _, data = crafted("dash behind an mp4-looking comment", victim_source)
    assert sniff_container(data[:512]) == "mp4/mov"


@pytest.fixture
def log_binaries(settings, tmp_path):
    """`log_binaries()` puts shims in front of the real ffmpeg/ffprobe that log each command line and
    working folder, then exec the real binary; it returns the log's path."""

    def install() -> Path:
        log = tmp_path / "commands.log"
        shims = tmp_path / "shims"
        shims.mkdir()
        for name in ("FFMPEG_BINARY", "FFPROBE_BINARY"):
            real = getattr(settings, name)
            shim = shims / name.lower()
            shim.write_text(f'#!/bin/sh\n{{ printf "cwd=%s\\nbin=%s\\n" "$PWD" "$0"; '
                            f'for a in "$@"; do printf "arg=%s\\n" "$a"; done; echo end; }} '
                            f'>> {shlex.quote(str(log))}\nexec {shlex.quote(real)} "$@"\n')
            shim.chmod(0o755)
            setattr(settings, name, str(shim))
        return log

    return install


def logged_runs(log: Path) -> list[tuple[str, list[str]]]:
    runs, cwd, args = [], "", []
    for line in log.read_text().splitlines():
        if line.startswith("cwd="):
            cwd, args = line[4:], []
        elif line.startswith(("bin=", "arg=")):
            args.append(line[4:])
        elif line == "end":
            runs.append((cwd, args))
    return runs


def test_every_ffmpeg_and_ffprobe_run_of_a_job_names_its_format_and_stays_out_of_media_root(
    attacker, make_clip, log_binaries, media_root
):
    """A legitimate upload, transcoded: each run that reads an input says which demuxer (`-f`) and which
    protocol (`file` only) it may use, and works in a private folder outside MEDIA_ROOT."""
    clip = make_clip(width=320, height=240, seconds=2)
    with open(clip, "rb") as file:
        video = Video(owner=attacker, title="fine")
        video.source.save("fine.mp4", File(file), save=False)
        video.save()
    log = log_binaries()
    job = run_job(video)
    assert job.state == TranscodeJob.State.SUCCEEDED, job.error
    runs = logged_runs(log)
    assert len(runs) >= 4, runs  # probe, ladder, codecs of the segment, poster + storyboard
    assert {Path(args[0]).name for _, args in runs} == {"ffmpeg_binary", "ffprobe_binary"}
    for cwd, args in runs:
        assert not Path(cwd).resolve().is_relative_to(media_root.resolve()), f"ffmpeg ran in MEDIA_ROOT: {cwd}"
        assert Path(cwd) != Path(os.getcwd()), "ffmpeg ran in the worker's own folder"
        ffmpeg = args[0].endswith("ffmpeg_binary")
        inputs = [i for i, arg in enumerate(args) if arg == "-i"] if ffmpeg else [len(args) - 2]  # ffprobe: the last
        assert inputs, args
        for previous, position in zip([-1, *inputs], inputs, strict=False):
            options = args[previous + 2:position]  # this input's own options
            assert "-protocol_whitelist" in options, args
            assert options[options.index("-protocol_whitelist") + 1] == "file", args
            assert "-format_whitelist" in options, args
            if ffmpeg:
                assert "-f" in options, f"no format before input {args[position + 1]}: {args}"
    # The upload itself is read through a neutral name in the private folder, never its stored path.
    assert not any(str(media_root / "sources") in arg for _, args in runs for arg in args)
    assert not any(Path(cwd).exists() for cwd, _ in runs), "the private folders are removed after the job"


@pytest.mark.parametrize("format_name", ["dash", "hls", "concat", "image2", "tee", "data", "lavfi", "srt", ""])
def test_no_later_run_can_be_built_for_a_format_off_the_allow_list(format_name, tmp_path):
    """The format each run names comes from the probe; a format the probe would refuse cannot be named either."""
    plan = plan_ladder(width=320, height=240, fps=30, has_audio=False, ladder=[("240p", 240, 400)], max_fps=60,
                       segment_seconds=2, audio_kbps=128)
    with pytest.raises(InvalidMedia, match=REFUSAL):
        build_command(source=tmp_path / "source.mp4", source_format=format_name, folder=tmp_path, plan=plan,
                          preset="ultrafast", ffmpeg_binary="ffmpeg")


# What cameras and editors write: (file name, video encoder, audio encoder), with a keyframe a second as
# cameras write them (the poster's seek into an MPEG-TS/PS lands on the next keyframe).
CONTAINERS = [("clip.mp4", "libx264", "aac"), ("clip.mov", "libx264", "aac"), ("clip.mkv", "libx264", "aac"),
              ("clip.webm", "libvpx", "libopus"), ("clip.avi", "mpeg4", "mp2"), ("clip.ts", "libx264", "aac"),
              ("clip.mpg", "mpeg2video", "mp2"), ("clip.flv", "flv", "aac"), ("clip.ogv", "libtheora", "libvorbis"),
              ("clip.wmv", "wmv2", "wmav2")]


@pytest.mark.parametrize("name,video_codec,audio_codec", CONTAINERS)
def test_every_container_on_the_allow_list_still_transcodes(name, video_codec, audio_codec, tmp_path):
    require_ffmpeg()
    source = tmp_path / name
    subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:v", video_codec,
                    "-g", "25", "-pix_fmt", "yuv420p", "-c:a", audio_codec, "-ar", "48000", "-shortest", str(source)],
                   check=True)
    info, _, output = transcode_clip(source, tmp_path / "out", segment_seconds=1)
    assert info.format_name in SOURCE_DEMUXERS and info.has_audio
    assert (output.folder / HLS_DIR / MASTER_NAME).is_file() and [r.height for r in output.renditions] == [240]
    assert (output.folder / THUMBNAIL_NAME).stat().st_size > 0
