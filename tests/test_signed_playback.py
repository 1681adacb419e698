"""Signed playback URLs: valid, tampered, expired, other viewer, path escapes, ranges, key rotation."""

import time

import pytest
from django.test import Client

from accounts.models import User
from media_pipeline.models import Video
from media_pipeline.playback_urls import playback_token, signed_playback_prefix, signing_keys

pytestmark = pytest.mark.django_db

SEGMENT = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def viewer():
    return User.objects.create_user(email="viewer@example.com", password="x")


@pytest.fixture
def video(settings):
    owner = User.objects.create_user(email="owner@example.com", password="x")
    folder = settings.MEDIA_ROOT / "hls" / "v1"
    (folder / "360p").mkdir(parents=True, exist_ok=True)
    (folder / "master.m3u8").write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/index.m3u8\n")
    (folder / "360p" / "seg0.ts").write_bytes(SEGMENT)
    (settings.MEDIA_ROOT / "secret.txt").write_text("not in the HLS folder")
    return Video.objects.create(owner=owner, title="private", visibility="private", status="ready",
                                hls_path="hls/v1", duration=30)


def signed_client(user):
    client = Client()
    if user:
        client.force_login(user)
    return client


def test_valid_link_serves_the_playlist_and_segments(video, viewer):
    prefix = signed_playback_prefix(video=video, viewer=viewer)
    client = signed_client(viewer)
    master = client.get(prefix + "master.m3u8")
    assert master.status_code == 200
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    assert b"360p/index.m3u8" in b"".join(master.streaming_content)
    segment = client.get(prefix + "360p/seg0.ts")
    assert segment["Content-Type"] == "video/mp2t"
    assert b"".join(segment.streaming_content) == SEGMENT


def test_range_request_gets_206_with_the_slice(video, viewer):
    prefix = signed_playback_prefix(video=video, viewer=viewer)
    response = signed_client(viewer).get(prefix + "360p/seg0.ts", HTTP_RANGE="bytes=100-299")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-299/{len(SEGMENT)}"
    assert b"".join(response.streaming_content) == SEGMENT[100:300]
    suffix = signed_client(viewer).get(prefix + "360p/seg0.ts", HTTP_RANGE="bytes=-10")
    assert b"".join(suffix.streaming_content) == SEGMENT[-10:]
    beyond = signed_client(viewer).get(prefix + "360p/seg0.ts", HTTP_RANGE=f"bytes={len(SEGMENT)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(SEGMENT)}"


def test_tampered_link_is_refused(video, viewer):
    prefix = signed_playback_prefix(video=video, viewer=viewer)
    _, _, video_id, token, _ = prefix.split("/")
    viewer_part, expires, kid, signature = token.split("-")
    forged = [
        f"/play/{video_id}/{viewer_part}-{int(expires) + 86400}-{kid}-{signature}/master.m3u8",  # longer life
        f"/play/{video_id}/{viewer_part}-{expires}-{kid}-{'0' * 32}/master.m3u8",  # made-up signature
        f"/play/{video.pk + 1}/{token}/master.m3u8",  # another video
        f"/play/{video_id}/garbage/master.m3u8",
    ]
    for url in forged:
        assert signed_client(viewer).get(url).status_code in (403, 404), url
    assert signed_client(viewer).get(forged[0]).status_code == 403


def test_expired_link_is_refused(video, viewer):
    expires = int(time.time()) - 1
    token = playback_token(video_id=video.pk, viewer_id=viewer.pk, expires=expires, keys=signing_keys())
    response = signed_client(viewer).get(f"/play/{video.pk}/{token}/master.m3u8")
    assert response.status_code == 403 and b"expired" in response.content


def test_link_of_another_viewer_is_refused(video, viewer):
    prefix = signed_playback_prefix(video=video, viewer=viewer)
    other = User.objects.create_user(email="other@example.com", password="x")
    assert signed_client(other).get(prefix + "master.m3u8").status_code == 403
    assert signed_client(None).get(prefix + "master.m3u8").status_code == 403


def test_paths_cannot_leave_the_hls_folder(video, viewer):
    prefix = signed_playback_prefix(video=video, viewer=viewer)
    for path in ("../../secret.txt", "..%2f..%2fsecret.txt", "360p/../../../secret.txt"):
        response = signed_client(viewer).get(prefix + path)
        assert response.status_code == 404, path


def test_rotated_keys_keep_old_links_working(video, viewer, settings):
    settings.PLAYBACK_SIGNING_KEYS = "old:0123456789abcdef0123"
    old_prefix = signed_playback_prefix(video=video, viewer=viewer)
    settings.PLAYBACK_SIGNING_KEYS = "new:fedcba9876543210fedc,old:0123456789abcdef0123"
    assert signed_client(viewer).get(old_prefix + "master.m3u8").status_code == 200
    assert "-new-" in signed_playback_prefix(video=video, viewer=viewer)
    settings.PLAYBACK_SIGNING_KEYS = "new:fedcba9876543210fedc"  # old key retired
    assert signed_client(viewer).get(old_prefix + "master.m3u8").status_code == 403


def test_accel_redirect_hands_the_file_to_the_web_server(video, viewer, settings):
    settings.PLAYBACK_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    prefix = signed_playback_prefix(video=video, viewer=viewer)
    response = signed_client(viewer).get(prefix + "360p/seg0.ts")
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-media/hls/v1/360p/seg0.ts"
    assert response.content == b""
