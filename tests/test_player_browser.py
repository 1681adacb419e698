"""The player, the paywall and the admin's video page in headless Debian Chromium (Playwright).

Debian's Chromium decodes H.264 (see notes/media.md), so these tests assert real playback:
`currentTime` grows. Transcodes are real (ffmpeg on lavfi clips), the chain is a real anvil with
our contracts, re-transcodes run on a real django-q2 cluster. Screenshots (PNG, in
test-artifacts/) are saved when FLOWCAST_SCREENSHOTS=1.
"""

from __future__ import annotations


import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from integrations.blockchain.rpc import ChainRPC
from media_pipeline import services
from media_pipeline.models import TranscodeJob, Video
from payments import indexer
from tests.chain_helpers import deploy_recorded_chain_an_hour_behind
from tests.fixtures.browser import save_screenshot, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Three rungs from a 640x360 source, fast to encode; the player must list all of them.
LADDER = "360p:360:700,240p:240:400,144p:144:200"
PASSWORD = "pw-a-long-one-123"
PLAYING_SECONDS = 1.5


@pytest.fixture
def media(settings, media_root):
    """One MEDIA_ROOT and a small, fast ladder for this test, the live server and any cluster it starts."""
    from config.env import env_ladder

    settings.MEDIA_LADDER = env_ladder({"L": LADDER}, "L", LADDER)
    settings.MEDIA_X264_PRESET = "ultrafast"
    return {"MEDIA_ROOT": str(settings.MEDIA_ROOT), "MEDIA_LADDER": LADDER, "MEDIA_X264_PRESET": "ultrafast"}


@pytest.fixture
def publish(media, make_clip):
    """`publish(owner, title=..., **upload fields)` → a ready video, transcoded in this process."""

    def run(owner, **fields) -> Video:
        clip = make_clip(width=640, height=360, seconds=6)
        with services.transcode_inline():
            video = services.video_upload(owner=owner, upload=SimpleUploadedFile("clip.mp4", clip.read_bytes()),
                                          **fields)
        job = services.transcode_run(job_id=video.transcode_jobs.get().pk)
        video.refresh_from_db()
        assert job.state == "succeeded" and video.status == "ready", job.error
        return video

    return run


def sign_in(page, base_url: str, email: str, *, admin: bool = False) -> None:
    page.goto(f"{base_url}/admin/login/" if admin else f"{base_url}/signin/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]" if admin else "#signin button[type=submit]")
    page.wait_for_load_state()


def assert_plays(page) -> dict:
    """Press play and wait until the video's clock moves; returns what the player saw."""
    wait_for(page, "window.flowcastPlayer && window.flowcastPlayer.levels.length > 0")
    page.click("#play")
    wait_for(page, f"document.getElementById('video').currentTime > {PLAYING_SECONDS}", timeout=30_000)
    state = page.evaluate("({levels: flowcastPlayer.levels, fragments: flowcastPlayer.fragmentsLoaded,"
                          " fatal: flowcastPlayer.fatalError, engine: flowcastPlayer.engine,"
                          " time: document.getElementById('video').currentTime})")
    assert state["engine"] == "hls.js" and state["fatal"] is None and state["fragments"] > 0
    return state


def test_player_plays_the_ladder_with_quality_menu_and_storyboard(page, live_server, publish):
    creator = User.objects.create_user("creator@example.com", PASSWORD, display_name="Ada")
    video = publish(creator, title="Harbour at dawn")
    ladder = sorted((r.width, r.height) for r in video.renditions.all())
    assert len(ladder) == 3

    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{live_server.url}/watch/{video.pk}")
    assert page.locator("h1").inner_text() == "Harbour at dawn"
    assert "Ada" in page.locator("#creator").inner_text() and page.locator("#duration").inner_text() == "0:06"
    state = assert_plays(page)
    assert sorted((level["width"], level["height"]) for level in state["levels"]) == ladder
    assert any(url.endswith("/hls/master.m3u8") and "/play/" in url for url in requests)
    assert any(url.endswith(".ts") or url.endswith(".m4s") for url in requests)
    # The quality menu lists every rung; locking the lowest one makes the decoder produce its size.
    options = page.locator("#quality option").all_inner_texts()
    assert options[0] == "Auto" and [o.split(" ")[0] for o in options[1:]] == ["360p", "240p", "144p"]
    lowest = min(state["levels"], key=lambda level: level["height"])
    page.select_option("#quality", str(lowest["index"]))
    page.evaluate("document.getElementById('video').currentTime = 0.2")
    wait_for(page, f"document.getElementById('video').videoHeight === {lowest['height']}", timeout=30_000)
    # Storyboard thumbnails over the seek bar.
    wait_for(page, "window.flowcastPlayer.storyboardCues > 0")
    box = page.locator("#seek").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    assert page.locator("#preview").is_visible()
    assert "storyboard" in page.locator("#preview").evaluate("el => el.style.backgroundImage")
    save_screenshot(page, "player")

    # Home lists it with its thumbnail and duration.
    page.goto(f"{live_server.url}/")
    tile = page.locator(f"li.tile[data-video='{video.pk}']")
    assert "Harbour at dawn" in tile.inner_text() and "0:06" in tile.inner_text()
    wait_for(page, "[...document.querySelectorAll('li.tile img')].every(img => img.naturalWidth > 0)")
    save_screenshot(page, "home")


def test_admin_previews_the_video_and_retranscodes_it(page, live_server, publish, media, q_cluster_factory,
                                                      settings):
    staff = User.objects.create_superuser(email="staff@example.com", password=PASSWORD)
    creator = User.objects.create_user("creator@example.com", PASSWORD)
    video = publish(creator, title="Sunset", visibility="private")
    first_job = video.transcode_jobs.get()
    q_cluster_factory(name=settings.TRANSCODE_CLUSTER, env=media)

    sign_in(page, live_server.url, staff.email, admin=True)
    page.goto(f"{live_server.url}/admin/media_pipeline/video/{video.pk}/change/")
    assert page.locator("#preview-module video#video").is_visible()
    thumbnail = page.locator(".field-thumbnail_large img")
    assert thumbnail.is_visible()
    wait_for(page, "document.querySelector('.field-thumbnail_large img').naturalWidth > 0")
    assert_plays(page)
    assert page.locator("#transcode-status .job-state").inner_text() == "succeeded"
    save_screenshot(page, "admin-video")

    page.click("#retranscode")
    page.wait_for_selector("text=Queued a transcode")
    # The status box follows the job through the API: queued (or already running), then succeeded.
    wait_for(page, "document.getElementById('transcode-status').dataset.jobState === 'succeeded'",
                           timeout=180_000)
    states = page.evaluate("window.transcodeStates")
    assert states[0] in ("queued", "running") and states[-1] == "succeeded" and len(states) >= 2, states
    assert page.locator("#transcode-status .video-status").inner_text() == "Ready"
    assert page.locator("#transcode-status progress").evaluate("el => el.value") == 100
    second_job = video.transcode_jobs.exclude(pk=first_job.pk).get()
    assert second_job.state == TranscodeJob.State.SUCCEEDED
    video.refresh_from_db()
    assert video.status == "ready" and f"out-{second_job.pk}" in video.hls_path
    save_screenshot(page, "admin-video-retranscoded")


@pytest.fixture
def chain(anvil_factory, settings):
    return deploy_recorded_chain_an_hour_behind(anvil_factory, settings)


def test_paid_video_is_refused_before_a_stream_and_plays_after_it(page, live_server, publish, chain):
    _, viewer_wallet, creator_wallet = chain.accounts[:3]
    chain.mint(viewer_wallet, 10**24)
    creator = User.objects.create_user("creator@example.com", PASSWORD, wallet_address=creator_wallet)
    viewer = User.objects.create_user("viewer@example.com", PASSWORD, wallet_address=viewer_wallet)
    video = publish(creator, title="Members only", visibility="paid", stream_rate=5)

    sign_in(page, live_server.url, viewer.email)
    page.goto(f"{live_server.url}/watch/{video.pk}")
    paywall = page.locator("#paywall")
    # The wallet checkout is offered, so the player waits hidden (it starts on `flowcast:playable`).
    assert paywall.is_visible() and page.locator("video#video").is_hidden()
    assert page.locator("#unlock-recipient").inner_text() == creator_wallet.lower()
    assert page.locator("#unlock-token").inner_text() == chain.token.address.lower()
    assert page.locator("#unlock-rate").inner_text() == "0.000000000000000005 FLOW / second"  # 18 decimals
    refused = page.evaluate(f"fetch('/api/videos/{video.pk}/playback').then(r => r.json().then(b => [r.status, b.code]))")
    assert refused == [403, "payment_required"]
    save_screenshot(page, "paywall")

    start = chain.timestamp() + 5
    chain.create_stream(viewer_wallet, creator_wallet, rate=5, start=start, duration=7200)
    result = indexer.chain_sync(rpc=ChainRPC(chain.node.url), chain_id=chain.node.chain_id, confirmations=0)
    assert result.error == ""

    page.reload()
    assert page.locator("#paywall").count() == 0
    state = assert_plays(page)
    assert len(state["levels"]) == video.renditions.count()


def test_studio_uploads_with_a_progress_bar_and_follows_the_transcode(page, live_server, media, make_clip,
                                                                       q_cluster_factory, settings):
    creator = User.objects.create_user("creator@example.com", PASSWORD)
    q_cluster_factory(name=settings.TRANSCODE_CLUSTER, env=media)
    page.goto(f"{live_server.url}/studio/")
    assert page.url.endswith("/signin/?next=/studio/")
    page.fill("#id_username", creator.email)
    page.fill("#id_password", PASSWORD)
    page.click("#signin button[type=submit]")
    page.wait_for_url("**/studio/")

    page.fill("#upload [name=title]", "From the studio")
    page.set_input_files("#upload [name=file]", str(make_clip(width=640, height=360, seconds=6)))
    page.click("#upload button[type=submit]")
    wait_for(page, "document.getElementById('upload-status').textContent.startsWith('Uploaded')")
    assert page.locator("#upload-progress").evaluate("el => el.value") == 100
    video = Video.objects.get(title="From the studio")
    row = page.locator(f"#my-videos tr[data-video='{video.pk}']")
    assert row.is_visible()
    # The row follows GET /api/videos/{id}/job until the video is ready.
    row.locator(".video-status", has_text="Ready").wait_for(timeout=180_000)
    assert "100% succeeded" in row.locator(".job-state").inner_text()
    assert row.locator("progress").evaluate("el => el.value") == 100
    wait_for(page, f"document.querySelector(\"tr[data-video='{video.pk}'] img\")?.naturalWidth > 0")
    save_screenshot(page, "studio")

    page.fill("#upload [name=title]", "Not a video")
    page.set_input_files("#upload [name=file]", {"name": "notes.mp4", "mimeType": "video/mp4",
                                                  "buffer": b"just some text, not a video\n" * 20})
    page.click("#upload button[type=submit]")
    wait_for(page, "document.getElementById('upload-status').textContent.includes('not a video container')")
    assert not Video.objects.filter(title="Not a video").exists()
