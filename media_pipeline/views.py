"""Pages for people: the home listing, the player (`/watch/<id>`), a creator's studio and sign-in.

Thin: the data comes from media_pipeline.selectors and media_pipeline.playback, who may see what from
media_pipeline.access; the player's files go out through the same signed `/play/` links the API hands
out. What a page shows (a card, the player, a studio row) is put together here.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from core.errors import NotFound, PermissionDenied
from integrations.ipfs.links import content_url
from core.text import duration_text
from media_pipeline import playback, selectors
from media_pipeline.models import Video
from media_pipeline.access import paid_terms
from payments.selectors import deployment_get
from payments.tokens import TokenMeta, token_amount_format, token_meta_get

HOME_PAGE_SIZE = 24


def home(request):
    """Ready public and paid videos, newest first."""
    # The cards show each creator's name: one join instead of a query per card.
    videos = selectors.videos_visible(user=None).select_related("owner")
    page = Paginator(videos, HOME_PAGE_SIZE).get_page(request.GET.get("page"))
    cards = [video_card(video=video, viewer=request.user) for video in page]
    return render(request, "player/home.html", {"page": page, "cards": cards})


def watch(request, video_id: int):
    try:
        video = selectors.video_get(video_id=video_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from None
    player = player_context(video=video, viewer=request.user)
    return render(request, "player/watch.html", {"video": video, "player": player})


@login_required(login_url="signin")
@ensure_csrf_cookie  # the upload form posts to the API with the session and this cookie's token
def studio(request):
    return render(request, "player/studio.html", {
        "videos": [studio_row(video=video, viewer=request.user)
                   for video in selectors.creator_videos(owner=request.user)],
        "visibilities": Video.Visibility.choices,
        "max_upload_bytes": settings.MEDIA_MAX_UPLOAD_BYTES,
    })


def video_card(*, video: Video, viewer) -> dict:
    """One tile of a listing (home page): no queries beyond the video and its owner."""
    return {
        "id": video.pk,
        "title": video.title,
        "creator": video.owner.display_name or video.owner.email.split("@")[0],
        "duration_text": duration_text(video.duration),
        "paid": video.is_paid,
        "thumbnail_url": playback.thumbnail_url(video=video, viewer=viewer),
    }


def studio_row(*, video: Video, viewer) -> dict:
    """One row of the studio: the card, its status and its latest transcode's progress
    (`job_state`, `job_progress` annotated by selectors.creator_videos)."""
    return {**video_card(video=video, viewer=viewer), "status": video.status, "status_text": video.get_status_display(),
            "visibility": video.get_visibility_display(), "error_message": video.error_message,
            "job_state": video.job_state or "", "progress": int(video.job_progress or 0)}


def player_context(*, video: Video, viewer) -> dict:
    """What the player (watch page, admin preview) shows `viewer`; JSON-safe, player.js reads it as it is.

    Playable → signed URLs; paid and not paid for → locked, with what unlocks it; not
    published yet → neither. The link to the IPFS copy appears once the HLS folder is pinned.
    """
    card = video_card(video=video, viewer=viewer)
    player = {
        "video_id": video.pk, "title": video.title, "creator": card["creator"], "duration": video.duration,
        "duration_text": card["duration_text"], "status": video.status, "status_text": video.get_status_display(),
        "locked": False, "unlock": None, "master_url": "", "thumbnail_url": card["thumbnail_url"],
        "storyboard_vtt_url": "", "storyboard_image_url": "", "renditions": [], "ipfs_cid": "", "ipfs_url": "",
    }
    try:
        links = playback.playback_links(video=video, viewer=viewer)
    except playback.NotReady:
        pass
    except PermissionDenied:
        player["locked"] = True
        player["unlock"] = unlock_terms(video=video) if video.is_paid else None
        player["checkout"] = checkout_config(video=video, viewer=viewer) if video.is_paid else None
    else:
        player.update(master_url=links.master_url, thumbnail_url=links.thumbnail_url,
                      storyboard_vtt_url=links.storyboard_vtt_url, storyboard_image_url=links.storyboard_image_url,
                      renditions=[{"name": rendition.name, "width": rendition.width, "height": rendition.height,
                                   "bandwidth": rendition.bandwidth} for rendition, _url in links.variants])
        # The IPFS copy is open to anyone with its CID: only a video that may be pinned (public, unlisted) and
        # that this viewer can play links it; a locked, paid or private video never shows one. `hls_cid` is set
        # once the folder is pinned and cleared when its pin goes (services.video_ipfs_cids_set).
        if video.hls_cid and video.visibility in settings.IPFS_PIN_VISIBILITIES:
            player.update(ipfs_cid=video.hls_cid, ipfs_url=content_url(
                video.hls_cid, gateway_url=settings.IPFS_GATEWAY_URL, gateway_origin=settings.IPFS_GATEWAY_ORIGIN,
                directory=True))
    return player


def unlock_terms(*, video: Video) -> dict:
    """What unlocks a paid video for a viewer (media_pipeline.access.paid_terms), in words and values."""
    terms = paid_terms(video)
    try:
        deployment = deployment_get()
    except NotFound:
        deployment = None
    # In the token's own units (`0.5 FLOW`), as a wallet shows them; base units when the chain is silent.
    meta = token_meta_get(token_address=deployment.token_address) if deployment else TokenMeta(decimals=None)
    price_text = None if terms.price is None else token_amount_format(amount=terms.price, meta=meta)
    rate_text = None if terms.stream_rate is None else token_amount_format(amount=terms.stream_rate, meta=meta)
    ways = []
    if price_text:
        ways.append(f"pay at least {price_text} once")
    if rate_text:
        ways.append(f"open a payment stream of at least {rate_text} per second")
    summary = ("To watch, " + " or ".join(ways) + " to the creator's wallet, from the wallet linked to your account"
               f" (chain {settings.CHAIN_ID}).")
    return {
        "summary": summary,
        "recipient": terms.creator_wallet,
        "token": deployment.token_address if deployment else "",
        "stream_contract": deployment.stream_address if deployment else "",
        "chain_id": settings.CHAIN_ID,
        # Token base units as decimal strings: exact beyond 2**53 (JSON numbers are not).
        "price": None if terms.price is None else str(terms.price),
        "stream_rate": None if terms.stream_rate is None else str(terms.stream_rate),
        "price_text": price_text,
        "stream_rate_text": rate_text,
    }


def checkout_config(*, video: Video, viewer) -> dict | None:
    """The wallet checkout's configuration (shape: frontend/config.js) for a paid video `viewer` has not paid
    for, or None when no checkout can be offered: signed out (the payment must come from the wallet linked to
    the account), no contracts recorded, the creator has no wallet, or the chosen stream contract is missing.
    Amounts are strings of token base units."""
    if not getattr(viewer, "is_authenticated", False):
        return None
    terms = paid_terms(video)
    try:
        deployment = deployment_get()
    except NotFound:
        return None
    if not terms.creator_wallet:
        return None
    stream = None
    if terms.stream_rate:  # a zero minimum is refused by the checkout: a stream must pay something
        kind = settings.CHECKOUT_STREAM_PROTOCOL
        address = deployment.sablier_lockup_address if kind == "sablier" else deployment.stream_address
        if address:
            stream = {"kind": kind, "address": address, "min_rate": str(terms.stream_rate), "durations": [3600, 86400]}
    price = None if terms.price is None else str(terms.price)
    if stream is None and price is None:
        return None
    meta = token_meta_get(token_address=deployment.token_address)
    if meta.decimals is None:
        return None  # the node does not answer: the checkout could not show amounts, nor pay
    return {
        "chain": {"id": settings.CHAIN_ID, "name": f"Flowcast chain {settings.CHAIN_ID}", "rpc_url": settings.CHAIN_PUBLIC_RPC_URL},
        "token": {"address": deployment.token_address, "decimals": meta.decimals, "symbol": meta.symbol},
        "stream": stream,
        "price": price,
        "creator": terms.creator_wallet.lower(),
        "video_id": video.pk,
        "playback_url": f"/api/videos/{video.pk}/playback",
        # The checkout waits for at least one confirmation (its rule); the indexer may need more.
        "confirmations": max(1, settings.CHAIN_CONFIRMATIONS),
    }


signin = auth_views.LoginView.as_view(template_name="player/signin.html", redirect_authenticated_user=True)
signout = auth_views.LogoutView.as_view(next_page="home")
