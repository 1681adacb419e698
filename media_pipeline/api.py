"""Videos API (mounted at /api/videos): upload, list, detail, job progress, playback, delete.

Thin: schemas in, one service or selector call, schemas out; who may do what is media_pipeline.access. Files are served through signed,
expiring links (`/play/{id}/{token}/...`, see media_pipeline/playback_views.py) that work
as a path prefix, so the relative URLs inside playlists and the storyboard keep the grant.
"""


from datetime import datetime
from typing import Literal

from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from accounts.auth import optional_auth, upload_auth, user_auth
from core.errors import NotFound, PermissionDenied, ServiceError
from core.pagination import rendered_as_is
from core.schemas import ErrorOut
from media_pipeline import playback, selectors, services
from media_pipeline.access import can_manage
from media_pipeline.models import Video

router = Router(tags=["videos"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 415: ErrorOut,
          422: ErrorOut}


class UploadIn(Schema):
    title: str
    description: str = ""
    visibility: Literal[tuple(Video.Visibility.values)] = Video.Visibility.PUBLIC.value
    # Token base units as decimal strings: exact beyond 2**53.
    price: str | None = None
    stream_rate: str | None = None


class RenditionOut(Schema):
    name: str
    width: int
    height: int
    video_bitrate: int
    audio_bitrate: int
    codecs: str
    frame_rate: float
    bandwidth: int
    average_bandwidth: int


class VideoOut(Schema):
    id: int
    title: str
    description: str
    visibility: str
    status: str
    owner_id: int
    price: str | None
    stream_rate: str | None
    duration: float | None
    source_width: int | None
    source_height: int | None
    error_message: str
    thumbnail_url: str | None
    created_at: datetime
    ready_at: datetime | None


class VideoDetailOut(VideoOut):
    source_fps: float | None
    source_video_codec: str
    source_audio_codec: str
    renditions: list[RenditionOut]


class AttemptOut(Schema):
    attempt: int
    started_at: datetime | None
    ended_at: datetime | None
    worker: str
    outcome: str
    reason: str


class JobOut(Schema):
    id: int
    state: str
    progress: float
    speed: float
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str
    attempt_history: list[AttemptOut]


class VariantOut(RenditionOut):
    url: str


class PlaybackOut(Schema):
    master_url: str
    thumbnail_url: str
    storyboard_vtt_url: str
    storyboard_image_url: str
    expires_at: datetime
    variants: list[VariantOut]


class ListFilters(Schema):
    status: Literal[tuple(Video.Status.values)] | None = None
    owner: int | None = None


def video_out(video, *, viewer, with_renditions: bool = False) -> dict:
    """The fields of VideoOut (VideoDetailOut `with_renditions`, from a Video) in the schema's order, from a
    Video or a listing row (selectors.video_listing_rows); the list renders these dicts as they are
    (core.pagination.rendered_as_is)."""
    data = {
        "id": video.pk, "title": video.title, "description": video.description, "visibility": video.visibility,
        "status": video.status, "owner_id": video.owner_id,
        "price": None if video.price is None else str(video.price),
        "stream_rate": None if video.stream_rate is None else str(video.stream_rate),
        "duration": video.duration, "source_width": video.source_width, "source_height": video.source_height,
        "error_message": video.error_message,
        "thumbnail_url": playback.thumbnail_url(video=video, viewer=viewer) or None,
        "created_at": video.created_at, "ready_at": video.ready_at,
    }
    if with_renditions:
        data.update(source_fps=video.source_fps, source_video_codec=video.source_video_codec,
                    source_audio_codec=video.source_audio_codec, renditions=selectors.video_renditions(video=video))
    return data


RENDITION_FIELDS = tuple(RenditionOut.model_fields)


def playback_out(links: playback.PlaybackLinks) -> dict:
    return {
        "master_url": links.master_url, "thumbnail_url": links.thumbnail_url,
        "storyboard_vtt_url": links.storyboard_vtt_url, "storyboard_image_url": links.storyboard_image_url,
        "expires_at": links.expires_at,
        "variants": [{**{field: getattr(rendition, field) for field in RENDITION_FIELDS}, "url": url}
                     for rendition, url in links.variants],
    }


def parse_amount(name: str, value: str | None) -> int | None:
    if value in (None, ""):
        return None
    if not value.isascii() or not value.isdigit():
        raise ServiceError(f"{name} must be a whole number of token base units.", fields={name: ["not an integer"]})
    return int(value)


@router.post("/", response={201: VideoDetailOut, **ERRORS}, auth=upload_auth)
def upload_video(request, payload: Form[UploadIn], file: File[UploadedFile] = None):
    """Upload a source (multipart). The transcode is queued; follow it at `/videos/{id}/job`.

    Refused before the body is read without a valid token or session (+ X-CSRFToken); stopped at
    MEDIA_MAX_UPLOAD_BYTES as it streams (413); 403 `quota_exceeded` past the user's quotas."""
    video = services.video_upload(
        owner=request.user, upload=file, title=payload.title, description=payload.description,
        visibility=payload.visibility, price=parse_amount("price", payload.price),
        stream_rate=parse_amount("stream_rate", payload.stream_rate),
    )
    return Status(201, video_out(video, viewer=request.user, with_renditions=True))


@router.get("/", response=list[VideoOut], auth=optional_auth)
@rendered_as_is  # the items are video_out() dicts
@paginate
def list_videos(request, filters: Query[ListFilters]):
    """Ready public and paid videos, plus your own (staff: all). Filter by `status` and `owner`."""
    return VideoList(selectors.videos_visible(user=request.user, status=filters.status, owner_id=filters.owner),
                     viewer=request.user)


class VideoList:
    """A queryset wrapper the paginator can count and slice, rendering only the page it returns."""

    def __init__(self, queryset, *, viewer):
        self.queryset = queryset
        self.viewer = viewer

    def all(self):
        return self.queryset

    def __len__(self):
        return self.queryset.count()

    def __getitem__(self, page: slice):
        return [video_out(video, viewer=self.viewer) for video in selectors.video_listing_rows(self.queryset, page)]


@router.get("/{int:video_id}", response={200: VideoDetailOut, **ERRORS}, auth=optional_auth)
def video_detail(request, video_id: int):
    video = selectors.video_get(video_id=video_id, user=request.user)
    return video_out(video, viewer=request.user, with_renditions=True)


@router.get("/{int:video_id}/job", response={200: JobOut, **ERRORS}, auth=user_auth)
def video_job(request, video_id: int):
    """The latest transcode of the video, with its progress (owner and staff)."""
    video = selectors.video_get(video_id=video_id, user=request.user)
    if not can_manage(video=video, user=request.user):
        raise PermissionDenied("Only the owner or staff may see the transcode.")
    job = selectors.video_latest_job(video=video)
    if job is None:
        raise NotFound("This video has no transcode yet.")
    return job


@router.get("/{int:video_id}/playback", response={200: PlaybackOut, **ERRORS}, auth=optional_auth)
@rendered_as_is  # playback_out() builds PlaybackOut's fields in its order
def video_playback(request, video_id: int):
    """Signed, expiring URLs of the master playlist, its variants, thumbnail and storyboard."""
    video = selectors.video_get(video_id=video_id, user=request.user)
    return playback_out(playback.playback_links(video=video, viewer=request.user))


@router.delete("/{int:video_id}", response={204: None, **ERRORS}, auth=user_auth)
def delete_video(request, video_id: int):
    """Delete the video and every file it has (owner and staff)."""
    video = selectors.video_get(video_id=video_id, user=request.user)
    services.video_delete(video=video, actor=request.user)
    return Status(204, None)
