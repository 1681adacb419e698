"""What the media pipeline writes: upload, queue, transcode, publish, fail, delete (and the quota checks before).

Reads live in selectors.py, who may see and watch in access.py, signed links in playback.py.
The ffmpeg side (probe, ladder, hls) is plain functions over paths; these
services join it to the models and own their transactions. A transcode is a
`TranscodeJob` row written in the same transaction as the source that caused it;
the queued django-q2 task carries only its id.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import PayloadTooLarge, PermissionDenied, ServiceError
from core.jobs import (
    LONG_QUEUE, LeaseKeeper, SweepCounts, attempt_begin, attempt_end, claim, enqueue_on_commit, heartbeat, sweep_stale,
)
from media_pipeline import hls, selectors
from media_pipeline.access import can_manage
from media_pipeline.hls.layout import (
    COMMAND_NAME, HLS_DIR, LOG_NAME, STORYBOARD_IMAGE_NAME, STORYBOARD_VTT_NAME, THUMBNAIL_NAME, TranscodeFailed,
    TranscodeInterrupted, TranscodeOutput,
)
from media_pipeline.hls.runner import log_tail
from media_pipeline.ladder import PictureTooSmall, plan_ladder
from media_pipeline.models import Rendition, TranscodeJob, Video
from media_pipeline.probe import InvalidMedia, ProbeLimits, probe_source, sniff_container
from media_pipeline.signals import video_deleting, video_failed, video_ready

logger = logging.getLogger(__name__)

TRANSCODE_TASK = "media_pipeline.tasks.transcode"
OUTPUT_PREFIX = "out-"
WORK_PREFIX = ".work-"
# Progress and heartbeat are written at most this often while ffmpeg runs.
PROGRESS_INTERVAL_SECONDS = 1.0

# Set by `transcode_inline()`: a new source creates its job row but queues no task,
# because the caller (the `transcode --sync` command) runs the job itself.
_inline = contextvars.ContextVar("media_pipeline_inline_transcodes", default=False)


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


class Superseded(Exception):
    """The job was cancelled (a newer source) while it ran: its output must not be published."""


class QuotaExceeded(ServiceError):
    status = 403
    code = "quota_exceeded"


# ---------------------------------------------------------------- quotas

def storage_quota_check(*, user, adding: int) -> None:
    """Raises QuotaExceeded if storing `adding` more bytes takes `user` past USER_STORAGE_QUOTA_BYTES (0: none)."""
    quota = settings.USER_STORAGE_QUOTA_BYTES
    if not quota:
        return
    used = selectors.storage_used(user=user)
    if used + adding > quota:
        raise QuotaExceeded(
            f"This upload ({adding} bytes) would take your storage past its quota: {used} of {quota} bytes are in "
            f"use. Delete videos or unpin uploads to make room.")


def transcode_quota_check(*, user) -> None:
    """Raises QuotaExceeded if `user` already has USER_QUEUED_TRANSCODES_MAX transcodes waiting or running (0: none)."""
    limit = settings.USER_QUEUED_TRANSCODES_MAX
    if not limit:
        return
    active = selectors.transcodes_active_count(user=user)
    if active >= limit:
        raise QuotaExceeded(f"You have {active} transcodes waiting or running (the most at once is {limit}); "
                            f"upload again when one has finished.")


# ---------------------------------------------------------------- upload

def video_upload(
    *,
    owner,
    upload,
    title: str,
    description: str = "",
    visibility: str = Video.Visibility.PUBLIC,
    price: int | None = None,
    stream_rate: int | None = None,
) -> Video:
    """Store an uploaded source as a new video; saving it queues its transcode (see signals)."""
    if upload is None:
        raise ServiceError("Attach a video file.", fields={"file": ["required"]})
    if upload.size == 0:
        raise ServiceError("The file is empty.", code="empty_file", fields={"file": ["empty"]})
    if upload.size > settings.MEDIA_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            f"The file is {upload.size} bytes; the largest upload allowed is {settings.MEDIA_MAX_UPLOAD_BYTES} bytes."
        )
    upload.seek(0)
    head = upload.read(512)
    upload.seek(0)
    if sniff_container(head) is None:
        raise UnsupportedMediaType(
            "This file is not a video container we accept (mp4, mov, mkv, webm, avi, ts, mpg, flv, ogg, wmv).",
            fields={"file": ["not a video"]},
        )
    title = (title or "").strip()
    if not title:
        raise ServiceError("Give the video a title.", fields={"title": ["required"]})
    if visibility not in Video.Visibility.values:
        raise ServiceError(f"Unknown visibility {visibility!r}.", fields={"visibility": ["invalid"]})
    if visibility == Video.Visibility.PAID and price is None and stream_rate is None:
        raise ServiceError("A paid video needs a price or a stream rate.", fields={"price": ["required for paid"]})
    for name, value in (("price", price), ("stream_rate", stream_rate)):
        if value is not None and not 0 < value < 2**256:
            raise ServiceError(f"{name} must be a positive token amount.", fields={name: ["out of range"]})
    transcode_quota_check(user=owner)
    storage_quota_check(user=owner, adding=upload.size)
    with transaction.atomic():
        video = Video(
            owner=owner, title=title[:200], description=description, visibility=visibility,
            price=price, stream_rate=stream_rate, source_size=upload.size,
        )
        video.source.save(safe_upload_name(upload.name), upload, save=False)
        video.save()
    return video


def safe_upload_name(name: str | None) -> str:
    base = Path(name or "upload").name
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in base)[:100].lstrip(".")
    return stem or "upload"


# ---------------------------------------------------------------- queueing

@contextlib.contextmanager
def transcode_inline():
    """Within this block new sources get a job row but no queued task: the caller runs it."""
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


def transcode_request(*, video: Video) -> TranscodeJob:
    """Queue a transcode of the video's current source, cancelling any job still working on an older one."""
    if not video.source:
        raise ServiceError("This video has no source file to transcode.")
    with transaction.atomic():
        now = timezone.now()
        TranscodeJob.objects.filter(video=video, state__in=TranscodeJob.ACTIVE_STATES).update(
            state=TranscodeJob.State.CANCELLED, finished_at=now, error="superseded by a newer source"
        )
        job = TranscodeJob.objects.create(video=video, heartbeat_at=now)
        Video.objects.filter(pk=video.pk).update(status=Video.Status.QUEUED, error_message="", updated_at=now)
        video.status, video.error_message = Video.Status.QUEUED, ""
        if not _inline.get():
            transcode_enqueue(job_id=job.pk)
    return job


def transcode_enqueue(*, job_id: int) -> None:
    """Queue the job's task on the long (transcode) cluster once the transaction commits."""
    enqueue_on_commit(TRANSCODE_TASK, job_id, queue=LONG_QUEUE)


LEASE_EXPIRED = "worker stopped heartbeating (lease expired)"


def transcode_jobs_sweep(*, older_than: timedelta | None = None) -> SweepCounts:
    """Requeue jobs whose lease expired (worker killed, message lost); give up after TRANSCODE_MAX_ATTEMPTS;
    ring again for queued jobs nobody picked up (core.jobs.sweep_stale).

    A running job's lease is its last heartbeat + WORK_LEASE_SECONDS; the worker renews it while it
    lives (LeaseKeeper), so only a dead or frozen worker loses it. The requeue is conditional on the
    attempt number it saw, and the next claim adds one: the old worker's heartbeats and publish are
    refused from then on. A requeued job's attempt ends as `lease_expired` and its video is queued again."""
    older_than = older_than if older_than is not None else timedelta(seconds=settings.WORK_LEASE_SECONDS)

    def requeued(job: TranscodeJob) -> None:
        TranscodeJob.objects.filter(pk=job.pk).update(error=f"attempt {job.attempts}: {LEASE_EXPIRED}; requeued")
        attempt_end(TranscodeJob.objects.all(), pk=job.pk, attempt=job.attempts, outcome="lease_expired",
                    reason=LEASE_EXPIRED)
        Video.objects.filter(pk=job.video_id).update(status=Video.Status.QUEUED)

    def give_up(job: TranscodeJob) -> bool:
        message = f"The transcode stopped {job.attempts} times without finishing (worker lost); giving up."
        return transcode_fail(job=job, message=message, from_state=TranscodeJob.State.RUNNING,
                              outcome="lease_expired", reason=LEASE_EXPIRED)

    return sweep_stale(
        TranscodeJob.objects.all(), task=TRANSCODE_TASK, queue=LONG_QUEUE,
        running=TranscodeJob.State.RUNNING, waiting=TranscodeJob.State.QUEUED, lease=older_than,
        max_attempts=settings.TRANSCODE_MAX_ATTEMPTS, on_requeued=requeued, give_up=give_up,
    )


# ---------------------------------------------------------------- the transcode

def video_folder(video_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "videos" / str(video_id)


def probe_limits() -> ProbeLimits:
    return ProbeLimits(
        max_width=settings.MEDIA_MAX_WIDTH, max_height=settings.MEDIA_MAX_HEIGHT,
        max_duration=settings.MEDIA_MAX_DURATION,
    )


def transcode_run(
    *, job_id: int, on_progress: Callable[[float, float], None] | None = None,
    on_ffmpeg_start: Callable[[int], None] | None = None,
) -> TranscodeJob | None:
    """Claim job `job_id` and run it to a published ladder or a failed video.

    Returns the job, or None when another worker holds it or it is no longer queued.
    Bad input fails the video with a readable message and returns normally, so the
    worker goes on with the next job.
    """
    jobs = TranscodeJob.objects
    if not claim(jobs.all(), pk=job_id, from_values=[TranscodeJob.State.QUEUED], to_value=TranscodeJob.State.RUNNING,
                 started_at=timezone.now(), progress=0, speed=0):
        return None
    job = jobs.select_related("video").get(pk=job_id)
    attempt_begin(jobs.all(), pk=job.pk, attempt=job.attempts)
    lease = LeaseKeeper(jobs.all(), pk=job.pk, attempt=job.attempts, while_value=TranscodeJob.State.RUNNING,
                        interval=settings.WORK_HEARTBEAT_SECONDS)
    with lease:
        return _transcode_attempt(job, lease=lease, on_progress=on_progress, on_ffmpeg_start=on_ffmpeg_start)


def _transcode_attempt(job: TranscodeJob, *, lease: LeaseKeeper, on_progress, on_ffmpeg_start) -> TranscodeJob:
    jobs = TranscodeJob.objects
    video = job.video
    Video.objects.filter(pk=video.pk).update(status=Video.Status.PROCESSING, updated_at=timezone.now())
    folder = video_folder(video.pk)
    remove_work_folders(folder)
    work = folder / f"{WORK_PREFIX}{job.pk}-{job.attempts}"
    last_write = [0.0]

    def progress(percent: float, speed: float) -> bool:
        if on_progress:
            on_progress(percent, speed)
        if lease.lost.is_set():
            return False  # another worker took the job over: stop ffmpeg
        now = time.monotonic()
        if now - last_write[0] < PROGRESS_INTERVAL_SECONDS and percent < 100:
            return True
        last_write[0] = now
        # False when the job was cancelled (a newer source) or taken over: stop ffmpeg.
        # Fenced by the attempt number: a worker the sweeper gave up on cannot write over its successor.
        return heartbeat(jobs.filter(attempts=job.attempts), pk=job.pk, while_value=TranscodeJob.State.RUNNING,
                         progress=round(min(percent, 99.0), 1), speed=round(speed, 2))

    try:
        if not video.source:
            raise InvalidMedia("This video has no source file.")
        info = probe_source(video.source.path, ffprobe=settings.FFPROBE_BINARY, limits=probe_limits())
        Video.objects.filter(pk=video.pk).update(
            duration=info.duration, source_width=info.width, source_height=info.height, source_fps=info.fps,
            source_video_codec=info.video_codec[:40], source_audio_codec=info.audio_codec[:40], source_size=info.size,
        )
        plan = plan_ladder(
            width=info.width, height=info.height, fps=info.fps, has_audio=info.has_audio,
            ladder=settings.MEDIA_LADDER, max_fps=settings.MEDIA_MAX_FPS,
            segment_seconds=settings.MEDIA_SEGMENT_SECONDS, audio_kbps=settings.MEDIA_AUDIO_KBPS,
            min_side=settings.MEDIA_MIN_SIDE,
        )
        output = hls.transcode_to_folder(
            source=Path(video.source.path), source_format=info.format_name, folder=work, plan=plan,
            duration=info.duration,
            source_width=info.width, source_height=info.height,
            storyboard_interval=settings.MEDIA_STORYBOARD_INTERVAL,
            storyboard_max_tiles=settings.MEDIA_STORYBOARD_MAX_TILES,
            preset=settings.MEDIA_X264_PRESET, ffmpeg_binary=settings.FFMPEG_BINARY,
            ffprobe_binary=settings.FFPROBE_BINARY, on_progress=progress, on_start=on_ffmpeg_start,
        )
    except (InvalidMedia, PictureTooSmall, TranscodeFailed) as error:
        message = getattr(error, "message", None) or str(error)
        transcode_fail(job=job, message=message, log=log_tail(work / LOG_NAME))
        shutil.rmtree(work, ignore_errors=True)
        return job_reload(job)
    except TranscodeInterrupted as error:
        transcode_interrupted(job=job, message=str(error), log=log_tail(work / LOG_NAME))
        shutil.rmtree(work, ignore_errors=True)
        return job_reload(job)
    except Exception as error:
        logger.exception("transcode %s of video %s crashed", job.pk, video.pk)
        transcode_fail(job=job, message=f"The transcode failed unexpectedly ({type(error).__name__}: {error}).")
        shutil.rmtree(work, ignore_errors=True)
        return job_reload(job)
    transcode_publish(job=job, output=output)
    return job_reload(job)


def job_reload(job: TranscodeJob) -> TranscodeJob:
    """Reload `job` from the database and return it (unchanged, if its video was deleted meanwhile)."""
    try:
        job.refresh_from_db()
    except TranscodeJob.DoesNotExist:
        pass
    return job


def remove_work_folders(folder: Path) -> None:
    """Leftovers of killed runs: never published, safe to remove once we hold the video's only live job."""
    if folder.is_dir():
        for child in folder.iterdir():
            if child.name.startswith(WORK_PREFIX):
                shutil.rmtree(child, ignore_errors=True)


def transcode_publish(*, job: TranscodeJob, output: TranscodeOutput) -> bool:
    """Move the checked output into place in one rename and mark the video ready, or discard it."""
    log = log_tail(output.folder / LOG_NAME)
    for name in (LOG_NAME, COMMAND_NAME):
        (output.folder / name).unlink(missing_ok=True)
    folder = video_folder(job.video_id)
    final = folder / f"{OUTPUT_PREFIX}{job.pk}"
    relative = final.relative_to(settings.MEDIA_ROOT).as_posix()
    moved = False
    try:
        with transaction.atomic():
            locked = TranscodeJob.objects.select_for_update().filter(pk=job.pk).first()
            video = Video.objects.select_for_update().filter(pk=job.video_id).first()
            # Checked before touching `final`: a fenced-off worker (its lease expired and another
            # attempt took over) must not replace what its successor published there.
            if locked is None or video is None or locked.state != TranscodeJob.State.RUNNING \
                    or locked.attempts != job.attempts:
                raise Superseded  # cancelled by a newer source, taken over by another worker, or deleted
            if final.exists():
                shutil.rmtree(final)
            os.rename(output.folder, final)  # one step: the published folder is complete or absent
            moved = True
            previous = video.hls_path
            video.renditions.all().delete()
            Rendition.objects.bulk_create(
                Rendition(
                    video=video, name=r.name, width=r.width, height=r.height, video_bitrate=r.video_kbps,
                    audio_bitrate=r.audio_kbps, codecs=r.codecs, frame_rate=r.frame_rate, playlist=r.playlist,
                    bandwidth=r.bandwidth, average_bandwidth=r.average_bandwidth,
                )
                for r in output.renditions
            )
            video.hls_path = f"{relative}/{HLS_DIR}"
            video.thumbnail = f"{relative}/{THUMBNAIL_NAME}"
            video.storyboard_image = f"{relative}/{STORYBOARD_IMAGE_NAME}"
            video.storyboard_vtt = f"{relative}/{STORYBOARD_VTT_NAME}"
            video.status = Video.Status.READY
            video.error_message = ""
            video.ready_at = timezone.now()
            video.hls_cid = ""  # the pin flow pins the new folder
            video.save()
            TranscodeJob.objects.filter(pk=job.pk).update(
                state=TranscodeJob.State.SUCCEEDED, progress=100, finished_at=timezone.now(), log_tail=log[-4000:],
                heartbeat_at=timezone.now(),
            )
            attempt_end(TranscodeJob.objects.all(), pk=job.pk, attempt=job.attempts, outcome="succeeded")
            video_ready.send(sender=Video, video=video)
            if previous:
                old = Path(settings.MEDIA_ROOT) / previous
                transaction.on_commit(lambda old=old.parent: shutil.rmtree(old, ignore_errors=True))
    except Superseded:
        shutil.rmtree(output.folder, ignore_errors=True)
        attempt_end(TranscodeJob.objects.all(), pk=job.pk, attempt=job.attempts, outcome="superseded",
                    reason="finished after the job was cancelled or taken over; output discarded")
        return False
    except Exception:
        shutil.rmtree(output.folder if not moved else final, ignore_errors=True)
        raise
    return True


def transcode_fail(*, job: TranscodeJob, message: str, log: str = "", from_state: str = TranscodeJob.State.RUNNING,
                   outcome: str = "failed", reason: str = "") -> bool:
    """Mark the job and its video failed (with `message`) if this worker still holds the job."""
    with transaction.atomic():
        changed = TranscodeJob.objects.filter(pk=job.pk, state=from_state, attempts=job.attempts).update(
            state=TranscodeJob.State.FAILED, error=message, finished_at=timezone.now(), log_tail=log[-4000:]
        )
        if not changed:
            return False
        attempt_end(TranscodeJob.objects.all(), pk=job.pk, attempt=job.attempts, outcome=outcome,
                    reason=reason or message)
        video = Video.objects.select_for_update().get(pk=job.video_id)
        video.status = Video.Status.FAILED
        video.error_message = message
        video.save(update_fields=["status", "error_message", "updated_at"])
        video_failed.send(sender=Video, video=video, error=message)
    return True


def transcode_interrupted(*, job: TranscodeJob, message: str, log: str = "") -> None:
    """ffmpeg died from a signal (OOM killer, operator): retry unless the attempts are used up."""
    if job.attempts >= settings.TRANSCODE_MAX_ATTEMPTS:
        transcode_fail(job=job, message=f"The transcode was interrupted {job.attempts} times ({message}); giving up.", log=log)
        return
    with transaction.atomic():
        moved = TranscodeJob.objects.filter(pk=job.pk, state=TranscodeJob.State.RUNNING, attempts=job.attempts).update(
            state=TranscodeJob.State.QUEUED, error=message, heartbeat_at=timezone.now(), log_tail=log[-4000:]
        )
        # Not moved: cancelled or taken over meanwhile; the attempt still gets its ending.
        attempt_end(TranscodeJob.objects.all(), pk=job.pk, attempt=job.attempts, outcome="interrupted", reason=message)
        if moved:
            Video.objects.filter(pk=job.video_id).update(status=Video.Status.QUEUED)
            transcode_enqueue(job_id=job.pk)


# ---------------------------------------------------------------- delete

def video_outputs_delete(*, video: Video) -> None:
    """Unpublish a video's HLS, thumbnail and storyboard (the source stays; re-transcode to publish again)."""
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        previous = video.hls_path
        video.renditions.all().delete()
        video.hls_path = video.thumbnail = video.storyboard_image = video.storyboard_vtt = video.hls_cid = ""
        video.ready_at = None
        if video.status == Video.Status.READY:
            video.status = Video.Status.UPLOADED
        video.save()
        if previous:
            old = (Path(settings.MEDIA_ROOT) / previous).parent
            transaction.on_commit(lambda: shutil.rmtree(old, ignore_errors=True))


def video_delete(*, video: Video, actor) -> None:
    """Delete a video, its jobs and every file it has (the owner or staff)."""
    if not can_manage(video=video, user=actor):
        raise PermissionDenied("Only the owner or staff may delete this video.")
    folder = video_folder(video.pk)
    source = Path(video.source.path) if video.source else None
    with transaction.atomic():
        video_deleting.send(sender=Video, video=video)
        video.delete()

        def remove_files():
            shutil.rmtree(folder, ignore_errors=True)
            if source:
                source.unlink(missing_ok=True)

        transaction.on_commit(remove_files)


# ---------------------------------------------------------------- IPFS copies (written by the pinning app)

def video_ipfs_cids_set(*, video_id: int, hls_cid: str | None = None, metadata_cid: str | None = None) -> int:
    """Record where a video's HLS folder and metadata JSON are pinned on IPFS ("" forgets one, None leaves it).

    The pinning app calls this when a pin completes or goes; the watch page links `hls_cid`. Returns the rows changed.
    """
    cids = {name: cid for name, cid in (("hls_cid", hls_cid), ("metadata_cid", metadata_cid)) if cid is not None}
    if not cids:
        return 0
    with transaction.atomic():
        return Video.objects.filter(pk=video_id).update(**cids)
