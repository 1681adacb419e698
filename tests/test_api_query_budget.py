"""Issue 20's budget: the video list, detail and playback cost at most 3 SQL queries per request, for a
visitor and for a caller with an API token (once its first use is recorded), whatever the page size (a session adds its two reads,
session and user, as tests/test_query_counts.py counts)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.services import api_token_create
from media_pipeline.models import Rendition, Video

pytestmark = pytest.mark.django_db

MAX_QUERIES = 3


def make_videos(owner, count=120):
    videos = Video.objects.bulk_create(
        Video(owner=owner, title=f"v{n}", visibility="public", status="ready", hls_path=f"videos/{n}/out-1/hls",
              thumbnail=f"videos/{n}/out-1/thumbnail.jpg", storyboard_vtt=f"videos/{n}/out-1/storyboard.vtt",
              storyboard_image=f"videos/{n}/out-1/storyboard.jpg", duration=30)
        for n in range(count)
    )
    Rendition.objects.bulk_create(
        Rendition(video=video, name=name, width=w, height=h, video_bitrate=800, audio_bitrate=128, codecs="avc1",
                  frame_rate=30, playlist=f"{name}/index.m3u8", bandwidth=1, average_bandwidth=1)
        for video in videos for name, w, h in (("720p", 1280, 720), ("360p", 640, 360))
    )
    return videos[0]


@pytest.mark.parametrize("caller", ["visitor", "token"])
def test_list_detail_and_playback_stay_within_three_queries(caller):
    owner = User.objects.create_user(email="budget@example.com", password="pw-budget-long-1")
    video = make_videos(owner)
    headers = {}
    if caller == "token":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {api_token_create(user=owner, name='bench')[1]}"
    client = Client(**headers)
    client.get("/api/videos/?limit=1")  # a token's first use records last_used_at (one write per minute, not per request)
    for url in ("/api/videos/", "/api/videos/?limit=100&offset=7", f"/api/videos/{video.pk}",
                f"/api/videos/{video.pk}/playback"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.content[:200])
        assert len(queries) <= MAX_QUERIES, (url, [query["sql"] for query in queries])
