"""The video list renders its items as built (core.pagination.rendered_as_is, skipping pydantic's
second validation): its answer must be byte for byte the one ninja gives after validating every item
against VideoOut, for every kind of row (paid prices beyond 2**53, stream rates, text that JSON escapes,
missing values, microsecond timestamps)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.test import Client
from ninja.responses import NinjaJSONEncoder

from accounts.models import User
from media_pipeline import api, playback, selectors
from media_pipeline.models import Video

pytestmark = pytest.mark.django_db


def make_rows(owner):
    Video.objects.create(owner=owner, title='Café "☕" <b>\\u0000', description="line\nbreak\ttab", status="ready",
                         visibility="paid", price=10**30 + 7, stream_rate=3, duration=12.345678,
                         source_width=1920, source_height=1080, hls_path="videos/a b/out-1/hls",
                         thumbnail="videos/a b/out-1/thumb nail#1.jpg",
                         ready_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    Video.objects.create(owner=owner, title="bare", status="ready")  # no thumbnail, no duration, nothing ready yet
    Video.objects.create(owner=owner, title="private", status="failed", visibility="private",
                         error_message="ffmpeg: ✗", thumbnail="videos/3/out-1/thumbnail.jpg", duration=0)


def test_the_list_answers_exactly_what_validated_items_would_render(monkeypatch):
    # One clock second for both renderings, so both sign the same links (a stand-in for the clock alone).
    monkeypatch.setattr(playback, "time", SimpleNamespace(time=lambda: 1_800_000_000.5))
    owner = User.objects.create_user(email="lister@example.com", password="pw-lister-long-1")
    make_rows(owner)
    client = Client()
    client.force_login(owner)
    for query in ("", "?limit=2&offset=1"):
        response = client.get(f"/api/videos/{query}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json; charset=utf-8"
        videos = selectors.videos_visible(user=owner)
        limit, offset = (2, 1) if query else (20, 0)
        items = api.VideoList(videos, viewer=owner)[offset:offset + limit]
        validated = {"items": [api.VideoOut.model_validate(item).model_dump() for item in items],
                     "count": videos.count()}
        rendered = response.content.decode()
        expected = json.dumps(validated, cls=NinjaJSONEncoder)
        assert json.loads(rendered) == json.loads(expected)
        at = next((i for i, (a, b) in enumerate(zip(rendered, expected)) if a != b), None)
        assert rendered == expected, (at, rendered[at - 80:at + 40] if at else len(rendered), expected[at - 80:at + 40] if at else len(expected))
        assert len(response.json()["items"]) == (2 if query else 3)


def test_playback_answers_exactly_what_the_validated_schema_would_render(monkeypatch):
    monkeypatch.setattr(playback, "time", SimpleNamespace(time=lambda: 1_800_000_000.5))
    owner = User.objects.create_user(email="player@example.com", password="pw-player-long-1")
    for visibility in ("public", "private"):
        video = Video.objects.create(owner=owner, title="clip", status="ready", visibility=visibility, duration=61.5,
                                     hls_path="videos/9 x/out-2/hls", thumbnail="videos/9 x/out-2/thumbnail.jpg",
                                     storyboard_vtt="videos/9 x/out-2/storyboard.vtt",
                                     storyboard_image="videos/9 x/out-2/story board.jpg")
        for name, height, rate in (("720p", 720, 29.97), ("360p", 360, 30)):
            video.renditions.create(name=name, width=height * 16 // 9, height=height, video_bitrate=2800,
                                    audio_bitrate=128, codecs="avc1.64001f,mp4a.40.2", frame_rate=rate,
                                    playlist=f"{name}/index.m3u8", bandwidth=3_000_000, average_bandwidth=2_900_000)
        client = Client()
        if visibility == "private":
            client.force_login(owner)
        response = client.get(f"/api/videos/{video.pk}/playback")
        assert response.status_code == 200, response.content
        validated = api.PlaybackOut.model_validate(
            api.playback_out(playback.playback_links(video=video, viewer=owner if visibility == "private" else None))
        ).model_dump()
        assert response.content.decode() == json.dumps(validated, cls=NinjaJSONEncoder)
        assert [variant["name"] for variant in response.json()["variants"]] == ["720p", "360p"]
