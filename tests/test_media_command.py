"""The `transcode` management command: a file or a video id, a progress bar, readable errors."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from media_pipeline.models import TranscodeJob, Video


# Each test its own MEDIA_ROOT (tests/fixtures/media.py).
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def owner(db):
    return User.objects.create_user(email="op@example.com", password="pw-123456-long")


def test_transcode_a_file_synchronously_with_a_progress_bar(owner, make_clip, django_capture_on_commit_callbacks,
                                                             settings):
    from django_q.brokers import get_broker

    # Transcodes go to the long cluster's list, on whichever broker the settings choose (ORM, or Redis).
    transcodes = get_broker(settings.TRANSCODE_CLUSTER)
    transcodes.purge_queue()
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("transcode", str(make_clip(width=640, height=360, seconds=3)), "--sync", "--owner", owner.email,
                     "--title", "cli", stdout=out)
    text = out.getvalue()
    assert "100.0%" in text and "[" + "#" * 30 + "]" in text and "ready: 1 rendition(s)" in text
    video = Video.objects.get(title="cli")
    assert video.status == "ready" and video.owner == owner and video.visibility == "private"
    # --sync queues no transcode (it ran it); what is left for commit is the "video ready" email.
    assert callbacks and transcodes.queue_size() == 0


def test_transcode_again_by_id(owner, make_clip):
    call_command("transcode", str(make_clip(width=320, height=240, seconds=1)), "--sync", "--owner", owner.email,
                 stdout=StringIO())
    video = Video.objects.get()
    out = StringIO()
    call_command("transcode", str(video.pk), "--sync", stdout=out)
    assert video.transcode_jobs.filter(state=TranscodeJob.State.SUCCEEDED).count() == 2
    assert f"video {video.pk}" in out.getvalue()


def test_transcode_queues_without_sync(owner, make_clip, settings):
    out = StringIO()
    call_command("transcode", str(make_clip(width=320, height=240, seconds=1)), "--no-wait", "--owner", owner.email,
                 stdout=out)
    assert f"queued on the {settings.TRANSCODE_CLUSTER} cluster" in out.getvalue()
    assert Video.objects.get().transcode_jobs.get().state == "queued"


@pytest.mark.parametrize(
    "args,message",
    [
        (["999999"], "No video with id 999999"),
        (["/no/such/file.mp4"], "neither a video id nor a file"),
        (["--owner", "nobody@example.com"], "No user with email"),
    ],
)
def test_transcode_reports_bad_targets_readably(owner, make_clip, args, message):
    if args[0].startswith("--"):
        args = [str(make_clip(width=320, height=240, seconds=1)), *args]
    with pytest.raises(CommandError, match=message):
        call_command("transcode", *args, stdout=StringIO())


def test_transcode_of_a_bad_file_fails_with_its_reason(owner, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("hello\n" * 100)
    with pytest.raises(CommandError, match="not a video container"):
        call_command("transcode", str(text), "--sync", "--owner", owner.email, stdout=StringIO())
    audio = tmp_path / "fake.mp4"
    # An mp4 header over junk passes sniffing, then fails in the transcode with ffprobe's reason.
    audio.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000)
    with pytest.raises(CommandError, match="Transcode failed: .*"):
        call_command("transcode", str(audio), "--sync", "--owner", owner.email, stdout=StringIO())
