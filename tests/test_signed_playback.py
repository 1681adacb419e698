"""Signed playback URLs: valid, tampered, expired, other viewer, access ended, path escapes, ranges, key rotation,
links for anyone on public videos only, bearer tokens, X-Accel-Redirect."""

import time

import pytest
from django.test import Client

from accounts.models import User
from accounts.services import api_token_create
from media_pipeline.models import Video
from media_pipeline.playback import media_url
from media_pipeline.playback_urls import playback_token, signing_keys
from tests.fixtures.media import write_hls_folder
from tests.payment_helpers import mirrored_payment

pytestmark = pytest.mark.django_db

SEGMENT = bytes(range(256)) * 40  # 10,240 bytes


VIEWER_WALLET = "0x" + "1" * 40
OWNER_WALLET = "0x" + "2" * 40


@pytest.fixture
def viewer():
    return User.objects.create_user(email="viewer@example.com", password="x", wallet_address=VIEWER_WALLET)


@pytest.fixture
def video(settings):
    """A paid video the viewer has paid for: links are bound to the viewer."""
    owner = User.objects.create_user(email="owner@example.com", password="x", wallet_address=OWNER_WALLET)
    mirrored_payment(sender=VIEWER_WALLET, recipient=OWNER_WALLET, amount=100)
    write_hls_folder(settings.MEDIA_ROOT / "videos" / "1" / "hls", segment=SEGMENT)
    (settings.MEDIA_ROOT / "secret.txt").write_text("not in the video's folder")
    return Video.objects.create(owner=owner, title="paid", visibility="paid", price=100, status="ready",
                                hls_path="videos/1/hls", duration=30)


def master_url(video, viewer):
    return media_url(video=video, path=f"{video.hls_path}/master.m3u8", viewer=viewer)


def segment_url(video, viewer):
    return media_url(video=video, path=f"{video.hls_path}/360p/seg0.ts", viewer=viewer)


def as_user(user):
    client = Client()
    if user:
        client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_valid_link_serves_the_playlist_and_segments(video, viewer):
    client = as_user(viewer)
    master = client.get(master_url(video, viewer))
    assert master.status_code == 200
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    assert b"360p/index.m3u8" in body(master)
    segment = client.get(segment_url(video, viewer))
    assert segment["Content-Type"] == "video/mp2t"
    assert body(segment) == SEGMENT


def test_range_request_gets_206_with_the_slice(video, viewer):
    url = segment_url(video, viewer)
    response = as_user(viewer).get(url, HTTP_RANGE="bytes=100-299")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-299/{len(SEGMENT)}"
    assert body(response) == SEGMENT[100:300]
    assert body(as_user(viewer).get(url, HTTP_RANGE="bytes=-10")) == SEGMENT[-10:]
    beyond = as_user(viewer).get(url, HTTP_RANGE=f"bytes={len(SEGMENT)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(SEGMENT)}"


def test_tampered_link_is_refused(video, viewer):
    url = master_url(video, viewer)
    _, _, video_id, token, *rest = url.split("/")
    viewer_part, expires, kid, signature = token.split("-")
    forged = [
        url.replace(token, f"{viewer_part}-{int(expires) + 86400}-{kid}-{signature}"),  # longer life
        url.replace(token, f"{viewer_part}-{expires}-{kid}-{'0' * 32}"),  # made-up signature
        url.replace(f"/play/{video_id}/", f"/play/{video.pk + 1}/"),  # another video
        url.replace(token, "garbage"),
    ]
    for bad in forged:
        assert as_user(viewer).get(bad).status_code in (403, 404), bad
    assert as_user(viewer).get(forged[0]).status_code == 403


def test_expired_link_is_refused(video, viewer):
    token = playback_token(video_id=video.pk, viewer_id=viewer.pk, expires=int(time.time()) - 1, keys=signing_keys())
    response = as_user(viewer).get(media_url(video=video, path=f"{video.hls_path}/master.m3u8", token=token))
    assert response.status_code == 403 and b"expired" in response.content


def test_link_of_another_viewer_is_refused(video, viewer):
    url = master_url(video, viewer)
    other = User.objects.create_user(email="other@example.com", password="x")
    assert as_user(other).get(url).status_code == 403
    assert as_user(None).get(url).status_code == 403
    assert as_user(video.owner).get(url).status_code == 200  # the owner may use any valid link


def test_links_for_anyone_only_while_the_video_is_public(video, viewer):
    video.visibility = "public"
    video.save()
    url = master_url(video, viewer)
    assert "/0-" in url  # not bound to a viewer
    assert as_user(None).get(url).status_code == 200
    video.visibility = "paid"
    video.save()
    assert as_user(None).get(url).status_code == 403
    assert as_user(viewer).get(url).status_code == 403


def test_bearer_token_holders_may_fetch_their_links(video, viewer):
    _, raw = api_token_create(user=viewer, name="player")
    url = master_url(video, viewer)
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert Client().get(url, HTTP_AUTHORIZATION="Bearer fc_wrong").status_code == 403


def test_paths_cannot_leave_the_video_folder(video, viewer):
    base = master_url(video, viewer).rsplit("/", 2)[0]  # /play/<id>/<token>
    for path in ("../../secret.txt", "..%2f..%2fsecret.txt", "hls/360p/../../../../secret.txt"):
        assert as_user(viewer).get(f"{base}/{path}").status_code == 404, path


def test_rotated_keys_keep_old_links_working(video, viewer, settings):
    settings.PLAYBACK_SIGNING_KEYS = "old:0123456789abcdef0123"
    old = master_url(video, viewer)
    settings.PLAYBACK_SIGNING_KEYS = "new:fedcba9876543210fedc,old:0123456789abcdef0123"
    assert as_user(viewer).get(old).status_code == 200
    assert "-new-" in master_url(video, viewer)
    settings.PLAYBACK_SIGNING_KEYS = "new:fedcba9876543210fedc"  # old key retired
    assert as_user(viewer).get(old).status_code == 403


def test_accel_redirect_hands_the_file_to_the_web_server(video, viewer, settings):
    settings.PLAYBACK_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    response = as_user(viewer).get(segment_url(video, viewer))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-media/videos/1/hls/360p/seg0.ts"
    assert response.content == b""


def test_link_stops_working_when_paid_access_ends(video, viewer):
    """Access follows the mirrored rows at every request: a reorg that orphans the payment ends it."""
    from payments.models import Payment

    url = segment_url(video, viewer)
    assert as_user(viewer).get(url).status_code == 200
    Payment.objects.update(status="orphaned")
    assert as_user(viewer).get(url).status_code == 403
