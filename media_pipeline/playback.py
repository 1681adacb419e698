"""Signed playback links: `/play/<video id>/<token>/<path>`, and the files behind them.

A token is a path prefix, so the relative URLs inside playlists and the storyboard keep the grant.
Who a link serves follows media_pipeline.access; this module only makes and reads the links.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS

from core.errors import NotFound, PermissionDenied, ServiceError
from media_pipeline.access import is_shared, playback_link_check, watch_check
from media_pipeline.models import Rendition, Video
from media_pipeline.playback_urls import InvalidPlaybackToken, playback_token, signing_keys, verify_playback_token


class NotReady(ServiceError):
    status = 409
    code = "not_ready"


@dataclass(frozen=True)
class PlaybackLinks:
    """The signed, expiring links of a published video, for one viewer."""

    master_url: str
    thumbnail_url: str
    storyboard_vtt_url: str
    storyboard_image_url: str
    expires_at: datetime
    variants: list[tuple[Rendition, str]]  # each rung with the URL of its media playlist


def playback_token_create(*, video: Video, viewer=None) -> tuple[str, int]:
    """A signed, expiring token for the video's published output folder, and its expiry (unix time).

    Public and unlisted videos get a link for anyone (viewer 0); private and paid ones a link
    bound to `viewer`. Links live PLAYBACK_URL_TTL seconds, and at least the video's length
    plus a margin, so nobody is cut off mid-play.
    """
    viewer_id = viewer.pk if (not is_shared(video) and viewer is not None and viewer.is_authenticated) else 0
    lifetime = max(settings.PLAYBACK_URL_TTL, int(video.duration or 0) + 600)
    expires = int(time.time()) + lifetime
    return playback_token(video_id=video.pk, viewer_id=viewer_id, expires=expires, keys=signing_keys()), expires


def media_url(*, video: Video, path: str, token: str | None = None, viewer=None) -> str:
    """Signed URL of a published file; `path` is relative to MEDIA_ROOT (as stored on the video).

    The token is a path prefix, so relative URLs inside playlists and the storyboard keep it.
    """
    token = token or playback_token_create(video=video, viewer=viewer)[0]
    return f"{signed_url_root()}{video.pk}/{token}/{_quoted_relative(path, video.hls_path)}"


@functools.lru_cache(maxsize=4096)
def _quoted_relative(path: str, hls_path: str) -> str:
    """`path` relative to the output folder of a video published at `hls_path`, quoted as a URL path."""
    relative = path.removeprefix(output_root_of(hls_path) + "/")
    return quote(relative, safe=RFC3986_SUBDELIMS + "/~:@")


def signed_url_root() -> str:
    """`/play/` as the URLconf routes it: reversed once per URLconf and script prefix, not per link
    (a listing makes one for every video), and quoted as `reverse()` would quote it."""
    return _signed_url_root(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@functools.lru_cache(maxsize=8)
def _signed_url_root(urlconf, script_prefix: str) -> str:
    return reverse("signed-hls", urlconf=urlconf, kwargs={"video_id": 1, "token": "t", "path": "p"}).removesuffix("1/t/p")


def output_root(video: Video) -> str:
    """The published output folder, relative to MEDIA_ROOT ("" before the first publish)."""
    return output_root_of(video.hls_path)


def output_root_of(hls_path: str) -> str:
    return str(Path(hls_path).parent.as_posix()) if hls_path else ""


def thumbnail_url(*, video: Video, viewer) -> str:
    """A signed link to the poster ("" before there is one): any valid link shows a paid video's poster.
    `video` may be a listing row (media_pipeline.selectors.video_listing_rows)."""
    return media_url(video=video, path=video.thumbnail, viewer=viewer) if video.thumbnail else ""


def playback_links(*, video: Video, viewer) -> PlaybackLinks:
    """Signed, expiring URLs of the master playlist, its variants, thumbnail and storyboard for `viewer`.

    Raises PaymentRequired (a paid video not paid for), PermissionDenied, or NotReady.
    """
    watch_check(video=video, viewer=viewer)
    if not video.hls_path:
        # A re-transcode keeps the published ladder playable until the new one replaces it.
        raise NotReady(f"This video is not ready to play yet (status: {video.status}).")
    token, expires = playback_token_create(video=video, viewer=viewer)

    def url(path: str) -> str:
        return media_url(video=video, path=path, token=token)

    return PlaybackLinks(
        master_url=url(f"{video.hls_path}/master.m3u8"),
        thumbnail_url=url(video.thumbnail),
        storyboard_vtt_url=url(video.storyboard_vtt),
        storyboard_image_url=url(video.storyboard_image),
        expires_at=datetime.fromtimestamp(expires, tz=UTC),
        variants=[(rendition, url(f"{video.hls_path}/{rendition.playlist}")) for rendition in video.renditions.all()],
    )


def playback_file(*, video_id: int, token: str, path: str, requester: Callable) -> Path:
    """The published file `path` of video `video_id` if `token` grants it to `requester()`.

    A link for anyone (viewer 0) works while the video is public or unlisted; a link bound
    to a viewer works for that viewer only. The owner and staff may use any valid link.
    `requester` is called only when the answer depends on who asks: a player fetches a file every
    few seconds, and a public video's segments need no session or token lookup.
    Raises PermissionDenied (bad, expired or someone else's link; PaymentRequired for a paid
    video not paid for) or NotFound.
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
    if not (is_shared(video) and grant.viewer_id == 0):
        poster = bool(video.thumbnail) and target == (Path(settings.MEDIA_ROOT) / video.thumbnail).resolve()
        playback_link_check(video=video, link_viewer_id=grant.viewer_id, poster=poster, requester=requester())
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFound("No such file.")
    return target
