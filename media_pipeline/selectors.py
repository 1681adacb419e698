"""Reads of the media pipeline: which videos a user sees, a creator's videos with their transcode, storage used."""

from __future__ import annotations

from types import SimpleNamespace

from django.db.models import OuterRef, QuerySet, Subquery, Sum

from core.errors import NotFound
from media_pipeline.access import can_see, listed_videos_filter
from media_pipeline.models import TranscodeJob, Video
from media_pipeline.signals import storage_counting


def storage_used(*, user) -> int:
    """Bytes `user` stores: the sources of their videos and what other apps count for them (`storage_counting`:
    IPFS uploads still pinned or on the way)."""
    sources = Video.objects.filter(owner=user).aggregate(total=Sum("source_size"))["total"] or 0
    return sources + sum(size for _receiver, size in storage_counting.send(sender=Video, user=user))


def transcodes_active_count(*, user) -> int:
    """Transcodes of `user`'s videos waiting or running."""
    return TranscodeJob.objects.filter(video__owner=user, state__in=TranscodeJob.ACTIVE_STATES).count()


def videos_visible(*, user, status: str | None = None, owner_id: int | None = None) -> QuerySet:
    """Videos a listing shows `user`: ready public and paid ones, plus their own and (staff) all."""
    videos = Video.objects.all()
    listed = listed_videos_filter(user=user)
    if listed is not None:
        videos = videos.filter(listed)
    if status:
        videos = videos.filter(status=status)
    if owner_id:
        videos = videos.filter(owner_id=owner_id)
    return videos


# What a listing shows of each video, and what signing its poster link reads (media_pipeline.playback).
LISTING_FIELDS = ("id", "title", "description", "visibility", "status", "owner_id", "price", "stream_rate", "duration",
                  "source_width", "source_height", "error_message", "thumbnail", "hls_path", "created_at", "ready_at")


def video_listing_rows(videos: QuerySet, page: slice) -> list[SimpleNamespace]:
    """A page of `videos` as rows with a Video's attributes (and `pk`) for LISTING_FIELDS only, read with
    `.values()`: a listing skips building twenty model instances it only reads."""
    return [SimpleNamespace(pk=row["id"], **row) for row in videos.values(*LISTING_FIELDS)[page]]


def videos_with_latest_job(videos: QuerySet) -> QuerySet:
    """Annotate `job_state` and `job_progress` of each video's latest transcode (one query, no N+1)."""
    latest = TranscodeJob.objects.filter(video=OuterRef("pk")).order_by("-created_at", "-id")
    return videos.annotate(job_progress=Subquery(latest.values("progress")[:1]),
                           job_state=Subquery(latest.values("state")[:1]))


def creator_videos(*, owner) -> QuerySet:
    """The studio's rows: every video of `owner` with its owner and latest transcode (`job_state`, `job_progress`)."""
    return videos_with_latest_job(Video.objects.select_related("owner").filter(owner=owner))


def video_get(*, video_id: int, user) -> Video:
    """The video `user` may see (media_pipeline.access.can_see); NotFound otherwise, as for a missing one."""
    try:
        video = Video.objects.get(pk=video_id)  # get(): no ORDER BY to build for a primary key
    except Video.DoesNotExist:
        raise NotFound("No such video.") from None
    if not can_see(video=video, user=user):
        raise NotFound("No such video.")
    return video


def video_find(*, video_id: int) -> Video | None:
    """The video with this id, whoever owns it (operator commands), or None."""
    return Video.objects.filter(pk=video_id).first()


def video_latest_job(*, video: Video) -> TranscodeJob | None:
    """The video's latest transcode, or None before its first."""
    return TranscodeJob.objects.filter(video=video).order_by("-created_at", "-id").first()


def video_renditions(*, video: Video) -> list:
    """The rungs of the video's published ladder, highest first as they were written."""
    return list(video.renditions.all())
