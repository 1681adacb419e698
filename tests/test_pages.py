"""The pages (home, watch, studio, sign-in) and the admin's video page, through Django's test client.

The published outputs are small files written by hand (no ffmpeg): what is checked here is who
sees what. The browser tests (tests/test_player_browser.py) play real transcodes.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from media_pipeline.models import Rendition, TranscodeJob, Video
from media_pipeline.services import video_ipfs_cids_set
from payments import services as payments
from pinning.models import IPFSRecord
from pinning.services import ipfs_record_unpin_request
from tests.fixtures.media import publish_video_files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

CREATOR_WALLET = "0x" + "c" * 40
VIEWER_WALLET = "0x" + "a" * 40
TOKEN = "0x" + "1" * 40
STREAMS = "0x" + "2" * 40



@pytest.fixture
def creator():
    return User.objects.create_user("creator@example.com", "pw-123456789", wallet_address=CREATOR_WALLET,
                                    display_name="Ada")


@pytest.fixture
def viewer():
    return User.objects.create_user("viewer@example.com", "pw-123456789", wallet_address=VIEWER_WALLET)


def published(owner, *, title="Harbour", visibility="public", **fields) -> Video:
    """A ready video with a one-rung ladder on disk (hand-written files)."""
    video = Video.objects.create(owner=owner, title=title, visibility=visibility, duration=187.4, **fields)
    Rendition.objects.create(video=video, name="360p", width=640, height=360, video_bitrate=800, codecs="avc1.64001e",
                             frame_rate=30, playlist="360p/index.m3u8", bandwidth=900000, average_bandwidth=800000)
    publish_video_files(video, bandwidth=900000, status="ready")
    return video


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def player_config(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="player-config" type="application/json">') + len(
        '<script id="player-config" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


def test_home_lists_ready_public_and_paid_videos_with_badge_and_thumbnail(creator):
    public = published(creator, title="Harbour at dawn")
    paid = published(creator, title="Behind the scenes", visibility="paid", stream_rate=5)
    for visibility in ("private", "unlisted"):
        published(creator, title=f"hidden {visibility}", visibility=visibility)
    Video.objects.create(owner=creator, title="still processing", status="processing")
    html = client_for().get("/").content.decode()
    assert "Harbour at dawn" in html and "Behind the scenes" in html
    assert "hidden" not in html and "still processing" not in html
    assert html.count('class="badge paid"') == 1
    assert "3:07" in html and "Ada" in html
    assert f'href="/watch/{public.pk}"' in html and f'href="/watch/{paid.pk}"' in html
    assert html.count(f"/play/{public.pk}/0-") == 1  # the thumbnail, through a signed link


def test_home_runs_a_fixed_number_of_queries(creator):
    published(creator, title="one")
    client = client_for()
    with CaptureQueriesContext(connection) as few:
        assert client.get("/").status_code == 200
    for index in range(6):
        published(creator, title=f"more {index}", visibility="paid" if index % 2 else "public", price=10)
    with CaptureQueriesContext(connection) as many:
        html = client.get("/").content.decode()
    assert html.count('class="tile"') == 7
    assert len(many) == len(few)


def test_poster_of_a_paid_video_shows_but_its_segments_need_access(creator, viewer):
    published(creator, visibility="paid", price=1000)
    html = client_for(viewer).get("/").content.decode()
    poster = html.split('<img src="')[1].split('"')[0]
    assert client_for(viewer).get(poster).status_code == 200
    segment = poster.replace("thumbnail.jpg", "hls/360p/seg0.ts")
    refused = client_for(viewer).get(segment)
    assert refused.status_code == 403 and b"paid" in refused.content
    assert client_for(creator).get(segment).status_code == 200
    anonymous_poster = client_for().get("/").content.decode().split('<img src="')[1].split('"')[0]
    assert client_for().get(anonymous_poster).status_code == 200
    assert client_for().get(anonymous_poster.replace("thumbnail.jpg", "hls/master.m3u8")).status_code == 403


def test_watch_page_of_a_public_video_carries_signed_links(creator):
    video = published(creator, title="Harbour at dawn", description="Boats.")
    response = client_for().get(f"/watch/{video.pk}")
    assert response.status_code == 200
    config = player_config(response)
    assert config["master_url"].startswith(f"/play/{video.pk}/0-") and config["master_url"].endswith("/hls/master.m3u8")
    assert config["locked"] is False and config["renditions"][0]["height"] == 360
    assert config["storyboard_vtt_url"].endswith("/storyboard.vtt")
    html = response.content.decode()
    assert "Harbour at dawn" in html and "Ada" in html and "3:07" in html and "Boats." in html
    assert 'id="quality"' in html and "vendor/hls.js/hls.min.js" in html
    assert client_for().get(config["master_url"]).status_code == 200
    assert 'id="ipfs-link"' not in html


def test_private_video_is_404_for_others_and_plays_for_owner_and_staff(creator, viewer):
    video = published(creator, visibility="private")
    assert client_for().get(f"/watch/{video.pk}").status_code == 404
    assert client_for(viewer).get(f"/watch/{video.pk}").status_code == 404
    assert client_for().get("/watch/999999").status_code == 404
    staff = User.objects.create_user("staff@example.com", "pw-123456789", is_staff=True)
    for user in (creator, staff):
        response = client_for(user).get(f"/watch/{video.pk}")
        assert response.status_code == 200 and player_config(response)["master_url"]


def test_paid_video_is_locked_and_says_what_unlocks_it(creator, viewer, settings):
    payments.deployment_record(chain_id=settings.CHAIN_ID, token_address=TOKEN, stream_address=STREAMS, deploy_block=1)
    video = published(creator, visibility="paid", price=1000, stream_rate=5)
    response = client_for(viewer).get(f"/watch/{video.pk}")
    html = response.content.decode()
    config = player_config(response)
    assert config["locked"] is True and config["master_url"] == "" and config["storyboard_vtt_url"] == ""
    assert "Pay to watch" in html and 'id="video"' not in html
    assert CREATOR_WALLET in html and TOKEN in html and STREAMS in html
    assert config["unlock"]["stream_rate"] == "5" and config["unlock"]["price"] == "1000"
    # The chain does not answer here, so the token's decimals are unknown: base units.
    assert "5 base units / second" in html and "1,000 base units" in html
    assert client_for(viewer).get(f"/api/videos/{video.pk}/playback").json()["code"] == "payment_required"
    anonymous = client_for().get(f"/watch/{video.pk}").content.decode()
    assert "Pay to watch" in anonymous and "/signin/?next=" in anonymous
    owner_view = player_config(client_for(creator).get(f"/watch/{video.pk}"))
    assert owner_view["locked"] is False and owner_view["master_url"]


def test_video_not_published_yet_says_so_to_its_owner_and_is_hidden_from_others(creator, viewer):
    video = Video.objects.create(owner=creator, title="soon", status="processing")
    html = client_for(creator).get(f"/watch/{video.pk}").content.decode()
    assert "Not ready yet" in html and "Processing" in html and 'id="video"' not in html
    assert client_for(viewer).get(f"/watch/{video.pk}").status_code == 404
    assert client_for().get(f"/watch/{video.pk}").status_code == 404


def test_ipfs_link_appears_once_the_hls_folder_is_pinned(creator, settings):
    settings.IPFS_GATEWAY_URL = "http://gateway.example/ipfs/"
    cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    video = published(creator)
    record = IPFSRecord.objects.create(cid=cid, kind="directory", role="video_hls", name="hls", backend="embedded",
                                       status="pinning", content_type=ContentType.objects.get_for_model(Video),
                                       object_id=video.pk)
    assert 'id="ipfs-link"' not in client_for().get(f"/watch/{video.pk}").content.decode()
    # the pin completes: the pinning app records the CID on the video (the pin flow tests cover that it does)
    video_ipfs_cids_set(video_id=video.pk, hls_cid=cid)
    IPFSRecord.objects.filter(pk=record.pk).update(status="pinned")
    html = client_for().get(f"/watch/{video.pk}").content.decode()
    assert f'href="http://gateway.example/ipfs/{cid}/"' in html
    # unpinned on request: the video forgets the CID, so the page links nothing the gateway no longer serves
    ipfs_record_unpin_request(record_id=record.pk)
    assert 'id="ipfs-link"' not in client_for().get(f"/watch/{video.pk}").content.decode()


def test_studio_needs_sign_in_and_shows_only_my_videos(creator, viewer):
    response = client_for().get("/studio/")
    assert response.status_code == 302 and response["Location"] == "/signin/?next=/studio/"
    mine = Video.objects.create(owner=creator, title="my upload", status="processing")
    TranscodeJob.objects.create(video=mine, state="running", progress=42)
    Video.objects.create(owner=viewer, title="someone else's")
    html = client_for(creator).get("/studio/").content.decode()
    assert "my upload" in html and "someone else" not in html
    assert 'value="42"' in html and "running" in html and 'data-status="processing"' in html
    assert 'data-api="/api/videos/"' in html and "csrfmiddlewaretoken" in html


def test_sign_in_page_signs_in_with_email_and_goes_next(creator):
    client = Client()
    assert client.get("/signin/").status_code == 200
    wrong = client.post("/signin/", {"username": "creator@example.com", "password": "nope", "next": "/studio/"})
    assert wrong.status_code == 200 and "correct" in wrong.content.decode()
    response = client.post("/signin/", {"username": "creator@example.com", "password": "pw-123456789",
                                        "next": "/studio/"})
    assert response.status_code == 302 and response["Location"] == "/studio/"
    assert client.get("/studio/").status_code == 200
    assert client.post("/signout/").status_code == 302
    assert client.get("/studio/").status_code == 302


def test_admin_video_page_embeds_the_player_and_a_retranscode_button(creator, settings):
    admin = User.objects.create_superuser(email="admin@example.com", password="pw-123456-long")
    video = published(creator, visibility="paid", price=10)
    Video.objects.filter(pk=video.pk).update(source="sources/1/x.mp4")  # no save signal: no transcode yet
    client = client_for(admin)
    html = client.get(f"/admin/media_pipeline/video/{video.pk}/change/").content.decode()
    config = player_config(client.get(f"/admin/media_pipeline/video/{video.pk}/change/"))
    assert config["locked"] is False and config["master_url"].startswith(f"/play/{video.pk}/")
    assert 'id="video"' in html and 'id="retranscode"' in html and "thumbnail.jpg" in html
    assert client.get(f"/admin/media_pipeline/video/{video.pk}/retranscode/").status_code == 405
    response = client.post(f"/admin/media_pipeline/video/{video.pk}/retranscode/", follow=True)
    assert response.redirect_chain[-1][0] == f"/admin/media_pipeline/video/{video.pk}/change/"
    html = response.content.decode()
    assert "Queued a transcode" in html and 'class="job-state">queued<' in html
    assert video.transcode_jobs.get().state == "queued"


def test_admin_retranscode_without_a_source_says_why(creator):
    admin = User.objects.create_superuser(email="admin@example.com", password="pw-123456-long")
    video = published(creator)
    response = client_for(admin).post(f"/admin/media_pipeline/video/{video.pk}/retranscode/", follow=True)
    assert "no source file" in response.content.decode()
    assert not video.transcode_jobs.exists()


def test_studio_runs_a_fixed_number_of_queries(creator):
    client = client_for(creator)
    published(creator, title="one")
    with CaptureQueriesContext(connection) as few:
        client.get("/studio/")
    for index in range(5):
        video = published(creator, title=f"more {index}")
        TranscodeJob.objects.create(video=video, state="succeeded", progress=100)
    with CaptureQueriesContext(connection) as many:
        html = client.get("/studio/").content.decode()
    assert html.count("<tr data-video=") == 6
    assert len(many) == len(few)


def json_block(html: str, block_id: str) -> dict:
    marker = f'<script id="{block_id}" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start:html.index("</script>", start)])


def test_paid_video_offers_the_wallet_checkout_configured_from_the_recorded_deployment(creator, viewer, settings, anvil_factory):
    from tests.chain_helpers import deploy_chain
    from tests.sablier_helpers import deploy_sablier_on

    node = anvil_factory()
    chain = deploy_chain(node)
    sablier = deploy_sablier_on(chain)
    settings.RPC_URL, settings.CHAIN_ID, settings.CHAIN_CONFIRMATIONS = node.url, node.chain_id, 2
    settings.CHAIN_PUBLIC_RPC_URL = "https://rpc.example/"
    payments.deployment_record(chain_id=node.chain_id, token_address=chain.token.address, stream_address=chain.streams.address,
                               deploy_block=1, sablier_lockup_address=sablier.lockup.address)
    video = published(creator, visibility="paid", price=10**30, stream_rate=5)
    html = client_for(viewer).get(f"/watch/{video.pk}").content.decode()
    assert 'data-checkout data-checkout-config="checkout-config"' in html and "/static/wallet/checkout.js" in html
    # CSP script-src 'self': every script is a file or a JSON data block, none inline.
    for tag in html.split("<script")[1:]:
        head = tag.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head, head
    config = json_block(html, "checkout-config")
    assert config == {
        "chain": {"id": node.chain_id, "name": f"Flowcast chain {node.chain_id}", "rpc_url": "https://rpc.example/"},
        "token": {"address": chain.token.address.lower(), "decimals": 18, "symbol": "FLOW"},
        "stream": {"kind": "flowcast", "address": chain.streams.address.lower(), "min_rate": "5", "durations": [3600, 86400]},
        "price": str(10**30),  # beyond 2**53: a string, exact
        "creator": CREATOR_WALLET,
        "video_id": video.pk,
        "playback_url": f"/api/videos/{video.pk}/playback",
        "confirmations": 2,
    }
    # The player waits hidden until the checkout says the video is playable.
    assert '<video id="video"' in html and 'id="controls" hidden' in html

    settings.CHECKOUT_STREAM_PROTOCOL = "sablier"
    config = json_block(client_for(viewer).get(f"/watch/{video.pk}").content.decode(), "checkout-config")
    assert config["stream"]["kind"] == "sablier" and config["stream"]["address"] == sablier.lockup.address.lower()

    # Signed out: the payment must come from a linked wallet, so no checkout, only the way to sign in.
    anonymous = client_for().get(f"/watch/{video.pk}").content.decode()
    assert "checkout-config" not in anonymous and "wallet/checkout.js" not in anonymous


def test_sign_in_and_studio_offer_sign_in_with_ethereum(creator):
    html = Client().get("/signin/?next=/studio/").content.decode()
    assert 'data-siwe' in html and 'data-next="/studio/"' in html and "/static/wallet/siwe.js" in html
    # An outside `next` is not followed after a wallet sign-in either.
    assert 'data-next="/"' in Client().get("/signin/?next=https://evil.example/").content.decode()
    studio = client_for(creator).get("/studio/").content.decode()
    assert "data-siwe" in studio and "/static/wallet/siwe.js" in studio and CREATOR_WALLET in studio
