"""Who may see, manage and watch a video: the one rule the API, the pages, the signed files and the demo ask.

- Manage (`can_manage`): the owner and staff. They may edit, delete, follow the transcode, and see and
  watch every video of theirs (staff: every video).
- See (`can_see`, `listed_videos_filter`): a video's page and API detail show to others only when it was
  published (ready, or still serving its previous ladder during a re-transcode) and is not private;
  listings show others only ready public and paid videos.
- Watch (`can_watch`, `watch_check`): public and unlisted, anyone; private, nobody else; paid, a viewer
  who paid the creator for the video's terms. Payments answer only that last question
  (`payments.selectors.viewer_has_paid`); refusing a paid video is the one `PaymentRequired` error.
- Signed links (`playback_link_check`): a link for anyone (viewer 0) serves a public or unlisted video
  (and a paid video's poster); a link bound to a viewer serves that viewer only, and every file is
  checked again against the watch rule, so a video made private or a cancelled stream stops playing.
"""

from __future__ import annotations

from django.db.models import Q

from core.errors import PermissionDenied
from media_pipeline.models import Video
from payments.selectors import PaidTerms, viewer_has_paid

# Anyone holding a link may watch these: their signed links are not bound to a viewer.
SHARED_VISIBILITIES = (Video.Visibility.PUBLIC, Video.Visibility.UNLISTED)
# Listings show these to everyone once they are ready.
LISTED_VISIBILITIES = (Video.Visibility.PUBLIC, Video.Visibility.PAID)


class PaymentRequired(PermissionDenied):
    """A paid video the viewer has not paid for (403 `payment_required`): the player shows what unlocks it."""

    code = "payment_required"

    def __init__(self, message: str = "This video is paid: pay the creator or stream to them to watch it.", **kwargs):
        super().__init__(message, **kwargs)


def can_manage(*, video: Video, user) -> bool:
    """The owner and staff."""
    return bool(user and user.is_authenticated and (user.pk == video.owner_id or user.is_staff))


def can_see(*, video: Video, user) -> bool:
    """Whether `user` may see the video's page (not necessarily play it). Owner and staff see all;
    others never a private video, nor one that was never published (a draft, or a failed upload)."""
    if can_manage(video=video, user=user):
        return True
    published = video.status == Video.Status.READY or bool(video.hls_path)
    return published and video.visibility != Video.Visibility.PRIVATE


def listed_videos_filter(*, user) -> Q | None:
    """The videos a listing shows `user`: ready public and paid ones, plus their own; None for staff (all)."""
    if user and user.is_authenticated and user.is_staff:
        return None
    listed = Q(status=Video.Status.READY, visibility__in=LISTED_VISIBILITIES)
    if user and user.is_authenticated:
        listed |= Q(owner=user)
    return listed


def is_shared(video: Video) -> bool:
    """Whether anyone with a link may watch the video (public and unlisted)."""
    return video.visibility in SHARED_VISIBILITIES


def paid_terms(video: Video) -> PaidTerms:
    """What unlocks a paid video: the owner's wallet, its price and stream rate, in this chain's token."""
    return PaidTerms(creator_wallet=video.owner.wallet_address or "", price=video.price,
                     stream_rate=video.stream_rate)


def can_watch(*, video: Video, viewer) -> bool:
    """Whether `viewer` may play the video (see the module's docstring)."""
    if is_shared(video):
        return True
    if can_manage(video=video, user=viewer):
        return True
    if video.visibility == Video.Visibility.PAID:
        return viewer_has_paid(viewer=viewer, terms=paid_terms(video))
    return False


def watch_check(*, video: Video, viewer) -> None:
    """Raises PaymentRequired (a paid video not paid for) or PermissionDenied unless `viewer` may play the video."""
    if not can_watch(video=video, viewer=viewer):
        if video.is_paid:
            raise PaymentRequired()
        raise PermissionDenied("You may not watch this video.")


def playback_link_check(*, video: Video, link_viewer_id: int, poster: bool, requester) -> None:
    """Raises PermissionDenied (PaymentRequired for a paid video) unless a signed link issued to
    `link_viewer_id` (0: to anyone) lets `requester` fetch a file of the video now; `poster`: the file
    is the video's poster, which any valid link shows for a paid video (its shop window)."""
    if can_manage(video=video, user=requester):
        return
    requester_id = requester.pk if requester is not None and requester.is_authenticated else 0
    if link_viewer_id == 0 and not is_shared(video) and not (poster and video.is_paid):
        raise PermissionDenied("This playback link is not valid for this video any more.")
    if link_viewer_id != 0 and link_viewer_id != requester_id:
        raise PermissionDenied("This playback link was issued to another viewer.")
    # A link is checked again on every file: a listing's poster link must not open the video, and a
    # video since made private, or a stream cancelled mid-play, stops it.
    if not poster and not can_watch(video=video, viewer=requester):
        if video.is_paid:
            raise PaymentRequired()
        raise PermissionDenied("This playback link does not let you watch this video any more.")
