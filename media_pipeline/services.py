"""What the media pipeline does: upload, queue, transcode, publish, fail, delete, play.

The ffmpeg side (probe, ladder, hls) is plain functions over paths; these
services join it to the models and own their transactions. A transcode is a
`TranscodeJob` row written in the same transaction as the source that caused it;
the queued django-q2 task carries only its id.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS

from core.errors import NotFound, PayloadTooLarge, PermissionDenied, ServiceError
from core.jobs import LONG_QUEUE, LeaseKeeper, attempt_begin, attempt_end, claim, enqueue_on_commit, heartbeat, stale
from media_pipeline import hls
from media_pipeline.ladder import PictureTooSmall, plan_ladder
from media_pipeline.models import Rendition, TranscodeJob, Video
from media_pipeline.playback_urls import InvalidPlaybackToken, playback_token, signing_keys, verify_playback_token
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


class NotReady(ServiceError):
    status = 409
    code = "not_ready"


class QuotaExceeded(ServiceError):
    status = 403
    code = "quota_exceeded"


# ---------------------------------------------------------------- quotas

def storage_used(*, user) -> int:
    """Bytes `user` stores: the sources of their videos and their IPFS uploads still pinned (or on the way)."""
    from django.db.models import Sum

    from integrations.models import IPFSRecord

    sources = Video.objects.filter(owner=user).aggregate(total=Sum("source_size"))["total"] or 0
    uploads = (IPFSRecord.objects.filter(uploaded_by=user)
               .exclude(status__in=[IPFSRecord.Status.UNPINNING, IPFSRecord.Status.UNPINNED])
               .aggregate(total=Sum("size"))["total"] or 0)
    return sources + uploads


def storage_quota_check(*, user, adding: int) -> None:
    """Raises QuotaExceeded if storing `adding` more bytes takes `user` past USER_STORAGE_QUOTA_BYTES (0: none)."""
    quota = settings.USER_STORAGE_QUOTA_BYTES
    if not quota:
        return
    used = storage_used(user=user)
    if used + adding > quota:
        raise QuotaExceeded(
            f"This upload ({adding} bytes) would take your storage past its quota: {used} of {quota} bytes are in "
            f"use. Delete videos or unpin uploads to make room.")


def transcode_quota_check(*, user) -> None:
    """Raises QuotaExceeded if `user` already has USER_QUEUED_TRANSCODES_MAX transcodes waiting or running (0: none)."""
    limit = settings.USER_QUEUED_TRANSCODES_MAX
    if not limit:
        return
    active = TranscodeJob.objects.filter(video__owner=user, state__in=TranscodeJob.ACTIVE_STATES).count()
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


def transcode_jobs_sweep(*, older_than: timedelta | None = None) -> dict[str, int]:
    """Requeue jobs whose lease expired (worker killed, message lost); give up after the attempt limit.

    A running job's lease is its last heartbeat + WORK_LEASE_SECONDS; the worker renews it while it
    lives (LeaseKeeper), so only a dead or frozen worker loses it. The requeue is conditional on the
    attempt number it saw, and the next claim adds one: the old worker's heartbeats and publish are
    refused from then on."""
    older_than = older_than if older_than is not None else timedelta(seconds=settings.WORK_LEASE_SECONDS)
    counts = {"requeued": 0, "failed": 0, "rung": 0}
    jobs = TranscodeJob.objects
    for job in stale(jobs.all(), values=[TranscodeJob.State.RUNNING], older_than=older_than).select_related("video"):
        if job.attempts >= settings.TRANSCODE_MAX_ATTEMPTS:
            message = f"The transcode stopped {job.attempts} times without finishing (worker lost); giving up."
            if transcode_fail(job=job, message=message, from_state=TranscodeJob.State.RUNNING, outcome="lease_expired",
                              reason=LEASE_EXPIRED):
                counts["failed"] += 1
            continue
        with transaction.atomic():
            moved = stale(jobs.filter(pk=job.pk, attempts=job.attempts), values=[TranscodeJob.State.RUNNING],
                          older_than=older_than).update(
                state=TranscodeJob.State.QUEUED, heartbeat_at=timezone.now(),
                error=f"attempt {job.attempts}: {LEASE_EXPIRED}; requeued",
            )
            if moved:
                attempt_end(jobs.all(), pk=job.pk, attempt=job.attempts, outcome="lease_expired", reason=LEASE_EXPIRED)
                Video.objects.filter(pk=job.video_id).update(status=Video.Status.QUEUED)
                transcode_enqueue(job_id=job.pk)
                counts["requeued"] += 1
    # A queued job nobody picked up: its message may be lost (Redis has no receipts); ring again.
    for job in stale(jobs.all(), values=[TranscodeJob.State.QUEUED], older_than=older_than):
        with transaction.atomic():
            if heartbeat(jobs, pk=job.pk, while_value=TranscodeJob.State.QUEUED):
                transcode_enqueue(job_id=job.pk)
                counts["rung"] += 1
    return counts


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
    except (InvalidMedia, PictureTooSmall, hls.TranscodeFailed) as error:
        message = getattr(error, "message", None) or str(error)
        transcode_fail(job=job, message=message, log=hls.log_tail(work / hls.LOG_NAME))
        shutil.rmtree(work, ignore_errors=True)
        return refreshed(job)
    except hls.TranscodeInterrupted as error:
        transcode_interrupted(job=job, message=str(error), log=hls.log_tail(work / hls.LOG_NAME))
        shutil.rmtree(work, ignore_errors=True)
        return refreshed(job)
    except Exception as error:
        logger.exception("transcode %s of video %s crashed", job.pk, video.pk)
        transcode_fail(job=job, message=f"The transcode failed unexpectedly ({type(error).__name__}: {error}).")
        shutil.rmtree(work, ignore_errors=True)
        return refreshed(job)
    transcode_publish(job=job, output=output)
    return refreshed(job)


def refreshed(job: TranscodeJob) -> TranscodeJob:
    """The job as stored now (as it was, if its video was deleted meanwhile)."""
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


def transcode_publish(*, job: TranscodeJob, output: hls.TranscodeOutput) -> bool:
    """Move the checked output into place in one rename and mark the video ready, or discard it."""
    log = hls.log_tail(output.folder / hls.LOG_NAME)
    for name in (hls.LOG_NAME, "command.json"):
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
            video.hls_path = f"{relative}/{hls.HLS_DIR}"
            video.thumbnail = f"{relative}/{hls.THUMBNAIL_NAME}"
            video.storyboard_image = f"{relative}/{hls.STORYBOARD_IMAGE_NAME}"
            video.storyboard_vtt = f"{relative}/{hls.STORYBOARD_VTT_NAME}"
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


# ---------------------------------------------------------------- access

def can_manage(*, video: Video, user) -> bool:
    return bool(user and user.is_authenticated and (user.pk == video.owner_id or user.is_staff))


def video_visible_to(*, video: Video, user) -> bool:
    """Whether `user` may see the video's page (not necessarily play it). Owner and staff see all;
    others never a private video, nor one that was never published (a draft, or a failed upload)."""
    if can_manage(video=video, user=user):
        return True
    published = video.status == Video.Status.READY or bool(video.hls_path)
    return published and video.visibility != Video.Visibility.PRIVATE


def videos_visible(*, user, status: str | None = None, owner_id: int | None = None):
    """Videos a listing shows `user`: ready public and paid ones, plus their own and (staff) all."""
    videos = Video.objects.all()
    if not (user and user.is_authenticated and user.is_staff):
        listed = Q(status=Video.Status.READY, visibility__in=[Video.Visibility.PUBLIC, Video.Visibility.PAID])
        if user and user.is_authenticated:
            listed |= Q(owner=user)
        videos = videos.filter(listed)
    if status:
        videos = videos.filter(status=status)
    if owner_id:
        videos = videos.filter(owner_id=owner_id)
    return videos


def videos_with_latest_job(videos):
    """Annotate `job_state` and `job_progress` of each video's latest transcode (one query, no N+1)."""
    latest = TranscodeJob.objects.filter(video=OuterRef("pk")).order_by("-created_at", "-id")
    return videos.annotate(job_progress=Subquery(latest.values("progress")[:1]),
                           job_state=Subquery(latest.values("state")[:1]))


def creator_videos(*, owner) -> list[dict]:
    """The studio's rows: every video of `owner` with its status and latest transcode's progress."""
    videos = videos_with_latest_job(Video.objects.select_related("owner").filter(owner=owner))
    return [
        {**video_card(video=video, viewer=owner), "status": video.status, "status_text": video.get_status_display(),
         "visibility": video.get_visibility_display(), "error_message": video.error_message,
         "job_state": video.job_state or "", "progress": int(video.job_progress or 0)}
        for video in videos
    ]


def video_get(*, video_id: int, user) -> Video:
    try:
        video = Video.objects.get(pk=video_id)  # get(): no ORDER BY to build for a primary key
    except Video.DoesNotExist:
        raise NotFound("No such video.") from None
    if not video_visible_to(video=video, user=user):
        raise NotFound("No such video.")
    return video


def video_playable(*, video: Video, user) -> bool:
    from payments.selectors import video_playable_by

    if can_manage(video=video, user=user):
        return True
    if video.visibility == Video.Visibility.PRIVATE:
        return False
    if video.visibility == Video.Visibility.PAID:
        return video_playable_by(video=video, viewer=user)
    return True


def playback_token_create(*, video: Video, viewer=None) -> tuple[str, int]:
    """A signed, expiring token for the video's published output folder, and its expiry (unix time).

    Public and unlisted videos get a link for anyone (viewer 0); private and paid ones a link
    bound to `viewer`. Links live PLAYBACK_URL_TTL seconds, and at least the video's length
    plus a margin, so nobody is cut off mid-play.
    """
    shared = video.visibility in (Video.Visibility.PUBLIC, Video.Visibility.UNLISTED)
    viewer_id = viewer.pk if (not shared and viewer is not None and viewer.is_authenticated) else 0
    lifetime = max(settings.PLAYBACK_URL_TTL, int(video.duration or 0) + 600)
    expires = int(time.time()) + lifetime
    return playback_token(video_id=video.pk, viewer_id=viewer_id, expires=expires, keys=signing_keys()), expires


def media_url(*, video: Video, path: str, token: str | None = None, viewer=None) -> str:
    """Signed URL of a published file; `path` is relative to MEDIA_ROOT (as stored on the video).

    The token is a path prefix, so relative URLs inside playlists and the storyboard keep it.
    """
    token = token or playback_token_create(video=video, viewer=viewer)[0]
    relative = path.removeprefix(output_root(video) + "/")
    return f"{signed_url_root()}{video.pk}/{token}/{quote(relative, safe=RFC3986_SUBDELIMS + '/~:@')}"


def signed_url_root() -> str:
    """`/play/` as the URLconf routes it: reversed once per URLconf and script prefix, not per link
    (a listing makes one for every video), and quoted as `reverse()` would quote it."""
    return _signed_url_root(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@functools.lru_cache(maxsize=8)
def _signed_url_root(urlconf, script_prefix: str) -> str:
    return reverse("signed-hls", urlconf=urlconf, kwargs={"video_id": 1, "token": "t", "path": "p"}).removesuffix("1/t/p")


RENDITION_FIELDS = ("name", "width", "height", "video_bitrate", "audio_bitrate", "codecs", "frame_rate", "bandwidth",
                    "average_bandwidth")


def video_playback(*, video: Video, viewer) -> dict:
    """Signed, expiring URLs of the master playlist, its variants, thumbnail and storyboard for `viewer`.

    Raises PermissionDenied (code `payment_required` for a paid video not paid for) or NotReady.
    """
    if not video_playable(video=video, user=viewer):
        if video.visibility == Video.Visibility.PAID:
            raise PermissionDenied("This video is paid: pay the creator or stream to them to watch it.",
                                   code="payment_required")
        raise PermissionDenied("You may not watch this video.")
    if not video.hls_path:
        # A re-transcode keeps the published ladder playable until the new one replaces it.
        raise NotReady(f"This video is not ready to play yet (status: {video.status}).")
    token, expires = playback_token_create(video=video, viewer=viewer)

    def url(path: str) -> str:
        return media_url(video=video, path=path, token=token)

    return {
        "master_url": url(f"{video.hls_path}/master.m3u8"),
        "thumbnail_url": url(video.thumbnail),
        "storyboard_vtt_url": url(video.storyboard_vtt),
        "storyboard_image_url": url(video.storyboard_image),
        "expires_at": datetime.fromtimestamp(expires, tz=UTC),
        "variants": [
            {**{field: getattr(rendition, field) for field in RENDITION_FIELDS},
             "url": url(f"{video.hls_path}/{rendition.playlist}")}
            for rendition in video.renditions.all()
        ],
    }


def duration_text(seconds: float | None) -> str:
    """`187.4` → "3:07", `3725` → "1:02:05"; "" when unknown."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def thumbnail_url(*, video: Video, viewer) -> str:
    """A signed link to the poster ("" before there is one): any valid link shows a paid video's poster."""
    return media_url(video=video, path=video.thumbnail, viewer=viewer) if video.thumbnail else ""


def video_card(*, video: Video, viewer) -> dict:
    """One tile of a listing (home page): no queries beyond the video and its owner."""
    return {
        "id": video.pk,
        "title": video.title,
        "creator": video.owner.display_name or video.owner.email.split("@")[0],
        "duration_text": duration_text(video.duration),
        "paid": video.is_paid,
        "thumbnail_url": thumbnail_url(video=video, viewer=viewer),
    }


def video_player_context(*, video: Video, viewer) -> dict:
    """What the player (watch page, admin preview) shows `viewer`; JSON-safe, player.js reads it as it is.

    Playable → signed URLs; paid and not paid for → locked, with what unlocks it; not
    published yet → neither. The link to the IPFS copy appears once the HLS folder is pinned.
    """
    from integrations.models import IPFSRecord
    from payments.selectors import video_unlock_terms

    card = video_card(video=video, viewer=viewer)
    player = {
        "video_id": video.pk, "title": video.title, "creator": card["creator"], "duration": video.duration,
        "duration_text": card["duration_text"], "status": video.status, "status_text": video.get_status_display(),
        "locked": False, "unlock": None, "master_url": "", "thumbnail_url": card["thumbnail_url"],
        "storyboard_vtt_url": "", "storyboard_image_url": "", "renditions": [], "ipfs_cid": "", "ipfs_url": "",
    }
    try:
        playback = video_playback(video=video, viewer=viewer)
    except NotReady:
        pass
    except PermissionDenied:
        player["locked"] = True
        player["unlock"] = video_unlock_terms(video=video) if video.is_paid else None
    else:
        player.update(master_url=playback["master_url"], thumbnail_url=playback["thumbnail_url"],
                      storyboard_vtt_url=playback["storyboard_vtt_url"],
                      storyboard_image_url=playback["storyboard_image_url"],
                      renditions=[{key: variant[key] for key in ("name", "width", "height", "bandwidth")}
                                  for variant in playback["variants"]])
    # The IPFS copy is open to anyone with its CID: only a video that may be pinned (public, unlisted) and that
    # this viewer can play links it; a locked, paid or private video never shows one.
    if video.hls_cid and not player["locked"] and player["master_url"] \
            and video.visibility in settings.IPFS_PIN_VISIBILITIES:
        pinned = IPFSRecord.objects.filter(cid=video.hls_cid, kind=IPFSRecord.Kind.DIRECTORY,
                                           status=IPFSRecord.Status.PINNED).first()
        if pinned is not None:
            player.update(ipfs_cid=pinned.cid, ipfs_url=pinned.gateway_url)
    return player


def output_root(video: Video) -> str:
    return str(Path(video.hls_path).parent.as_posix()) if video.hls_path else ""


def playback_file(*, video_id: int, token: str, path: str, requester: Callable) -> Path:
    """The published file `path` of video `video_id` if `token` grants it to `requester()`.

    A link for anyone (viewer 0) works while the video is public or unlisted; a link bound
    to a viewer works for that viewer only. The owner and staff may use any valid link.
    `requester` is called only when the answer depends on who asks: a player fetches a file every
    few seconds, and a public video's segments need no session or token lookup.
    Raises PermissionDenied (bad, expired or someone else's link) or NotFound.
    """
    try:
        grant = verify_playback_token(token, video_id=video_id, keys=signing_keys())
    except InvalidPlaybackToken as error:
        raise PermissionDenied(f"This playback link is not valid: {error}.") from None
    video = Video.objects.select_related("owner").filter(pk=video_id).exclude(hls_path="").first()
    if video is None:
        raise NotFound("No such video.")
    root = (Path(settings.MEDIA_ROOT) / output_root(video)).resolve()
    target = (root / path).resolve()
    shared = video.visibility in (Video.Visibility.PUBLIC, Video.Visibility.UNLISTED)
    if not (shared and grant.viewer_id == 0):
        playback_access_check(video=video, grant=grant, target=target, requester=requester())
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFound("No such file.")
    return target


def playback_access_check(*, video: Video, grant, target: Path, requester) -> None:
    """Raises PermissionDenied unless `grant` lets `requester` fetch `target` of `video` now."""
    requester_id = requester.pk if requester is not None and requester.is_authenticated else 0
    # The poster of a paid video is its shop window: any valid link shows it, the rest needs access.
    poster = bool(video.thumbnail) and target == (Path(settings.MEDIA_ROOT) / video.thumbnail).resolve()
    if not can_manage(video=video, user=requester):
        shared = video.visibility in (Video.Visibility.PUBLIC, Video.Visibility.UNLISTED)
        if grant.viewer_id == 0 and not shared and not (poster and video.is_paid):
            raise PermissionDenied("This playback link is not valid for this video any more.")
        if grant.viewer_id != 0 and grant.viewer_id != requester_id:
            raise PermissionDenied("This playback link was issued to another viewer.")
        # A link is checked again on every file: a listing's poster link must not open the video, and a
        # video since made private, or a stream cancelled mid-play, stops it.
        if not poster and not video_playable(video=video, user=requester):
            if video.is_paid:
                raise PermissionDenied("This video is paid: pay the creator or stream to them to watch it.",
                                       code="payment_required")
            raise PermissionDenied("This playback link does not let you watch this video any more.")
