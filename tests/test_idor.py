"""Object-level permissions (IDOR): every endpoint that names an object in its path is called by
another user (session and bearer token) and by a visitor with the owner's object ids. They get
403/404 in the API's error shape, never the object, and change nothing. The endpoints come from
the OpenAPI schema, so a new one fails `test_every_object_endpoint_has_an_idor_case` until it
gets a case here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from ninja import NinjaAPI, Router

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from media_pipeline.models import TranscodeJob, Video
from payments.models import PaymentStream
from pinning.models import IPFSRecord
from tests.api_inventory import api_operations, object_operations, operation
from tests.fixtures.media import publish_video_files
from tests.payment_helpers import mirrored_payment

pytestmark = pytest.mark.django_db

SECRET = "alice-secret"  # in every title and name of the owner's objects: must never reach anyone else
ALICE = "0x" + "a1" * 20
MALLORY = "0x" + "b2" * 20
TOKEN_CONTRACT = "0x" + "c3" * 20


@dataclass
class World:
    owner: User
    intruder: User
    intruder_token: str
    token: ApiToken
    videos: dict[str, Video] = field(default_factory=dict)
    stream: PaymentStream | None = None
    record: IPFSRecord | None = None


def make_video(owner, name: str, *, visibility: str, ready: bool = True, **extra) -> Video:
    video = Video.objects.create(owner=owner, title=f"{SECRET} {name}", description=SECRET, visibility=visibility,
                                 status="ready" if ready else "uploaded", duration=10, **extra)
    if ready:
        publish_video_files(video)
    TranscodeJob.objects.create(video=video, state="succeeded" if ready else "queued", error=SECRET if not ready else "")
    return video


@pytest.fixture
def world(settings, media_root) -> World:
    owner = User.objects.create_user(email="alice@example.com", password="pw-alice-long-1", wallet_address=ALICE,
                                     display_name=SECRET)
    intruder = User.objects.create_user(email="mallory@example.com", password="pw-mallory-long", wallet_address=MALLORY)
    token, _ = api_token_create(user=owner, name=SECRET)
    world = World(owner=owner, intruder=intruder, intruder_token=api_token_create(user=intruder, name="m")[1], token=token)
    world.videos = {
        "private": make_video(owner, "private", visibility="private"),
        "public": make_video(owner, "public", visibility="public"),
        "paid": make_video(owner, "paid", visibility="paid", price=10**18),
        "draft": make_video(owner, "draft", visibility="public", ready=False),
    }
    now = timezone.now()
    world.stream = PaymentStream.objects.create(
        chain_id=settings.CHAIN_ID, contract_address="0x" + "d4" * 20, stream_id=1, sender=ALICE, recipient="0x" + "e5" * 20,
        token_address=TOKEN_CONTRACT, deposit=1000, rate_per_second=1, start_time=now - timedelta(seconds=10),
        stop_time=now + timedelta(seconds=990), withdrawn=0, remaining_balance=1000, tx_hash="0x" + "1" * 64, log_index=0,
        block_number=1, block_hash="0x" + "1" * 64, creation_confirmed=True,
    )
    world.record = IPFSRecord.objects.create(kind="file", name=SECRET, backend="embedded", status="failed",
                                             last_error=SECRET, cid="bafy" + "a" * 55, uploaded_by=owner)
    return world


# For each object endpoint: the owner's objects to try, as (label, path parameters, the owner's status).
# The owner's call comes last and shows the ids are real (and the endpoint works for its owner).
IDOR_CASES = {
    "DELETE /api/auth/tokens/{token_id}": lambda w: [("token", {"token_id": w.token.pk}, 204)],
    "GET /api/videos/{video_id}": lambda w: [
        ("private video", {"video_id": w.videos["private"].pk}, 200),
        ("draft", {"video_id": w.videos["draft"].pk}, 200),
    ],
    "DELETE /api/videos/{video_id}": lambda w: [
        (name, {"video_id": w.videos[name].pk}, 204) for name in ("private", "public", "paid", "draft")
    ],
    "GET /api/videos/{video_id}/job": lambda w: [
        (name, {"video_id": w.videos[name].pk}, 200) for name in ("private", "public", "paid", "draft")
    ],
    "GET /api/videos/{video_id}/playback": lambda w: [
        ("private video", {"video_id": w.videos["private"].pk}, 200),
        ("unpaid paid video", {"video_id": w.videos["paid"].pk}, 200),
        ("draft", {"video_id": w.videos["draft"].pk}, 409),
    ],
    "GET /api/payments/streams/{stream_pk}": lambda w: [("stream", {"stream_pk": w.stream.pk}, 200)],
    "GET /api/ipfs/records/{record_id}": lambda w: [("record", {"record_id": w.record.pk}, 200)],
    "DELETE /api/ipfs/records/{record_id}": lambda w: [("record", {"record_id": w.record.pk}, 200)],
    "POST /api/ipfs/records/{record_id}/retry": lambda w: [("record", {"record_id": w.record.pk}, 200)],
}

# Object endpoints whose objects are not anyone's secret, and why.
PUBLIC_BY_DESIGN = {
    "GET /api/payments/history/{address}": "token transfers are public on the chain; this reads our index of them",
}


def uncovered(operations) -> set[str]:
    return {op.key for op in operations} - set(IDOR_CASES) - set(PUBLIC_BY_DESIGN)


def test_every_object_endpoint_has_an_idor_case():
    keys = {op.key for op in object_operations()}
    assert uncovered(object_operations()) == set(), "object endpoints without an IDOR case in tests/test_idor.py"
    assert set(IDOR_CASES) | set(PUBLIC_BY_DESIGN) <= keys, "IDOR cases for endpoints that no longer exist"


def test_a_new_object_endpoint_without_a_case_is_caught():
    probe = NinjaAPI(urls_namespace="idor-probe")
    router = Router()

    @router.get("/{thing_id}")
    def thing(request, thing_id: int):
        return {}

    probe.add_router("/things", router)
    assert uncovered(object_operations(probe, "/api/")) == {"GET /api/things/{thing_id}"}


def snapshot(owner) -> dict:
    """Every row of the owner's an intruder could try to change (what an IDOR write would touch)."""
    rows = {
        "tokens": ApiToken.objects.filter(user=owner), "videos": Video.objects.all(), "jobs": TranscodeJob.objects.all(),
        "streams": PaymentStream.objects.all(), "records": IPFSRecord.objects.all(),
    }
    return {name: list(queryset.order_by("pk").values()) for name, queryset in rows.items()}


def call(client: Client, method: str, url: str, **headers):
    return getattr(client, method.lower())(url, **headers)


def assert_refused(response, *, allowed: tuple[int, ...], who: str, what: str) -> None:
    assert response.status_code in allowed, f"{who} got {response.status_code} for {what}: {response.content[:300]!r}"
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert SECRET.encode() not in response.content, f"{who} saw the owner's data in {what}"


@pytest.mark.parametrize("key", sorted(IDOR_CASES))
def test_another_user_never_gets_the_owners_object(world, key):
    op = operation(key)
    intruder_session = Client()
    intruder_session.force_login(world.intruder)
    intruders = {
        "another user (session)": (intruder_session, {}),
        "another user (bearer token)": (Client(), {"HTTP_AUTHORIZATION": f"Bearer {world.intruder_token}"}),
        "a visitor": (Client(), {}),
    }
    owner = Client()
    owner.force_login(world.owner)
    for label, params, owner_status in IDOR_CASES[key](world):
        url = op.url(**params)
        before = snapshot(world.owner)
        for who, (client, headers) in intruders.items():
            allowed = (403, 404) if who != "a visitor" or op.anonymous_allowed else (401, 403, 404)
            assert_refused(call(client, op.method, url, **headers), allowed=allowed, who=who, what=f"{key} ({label})")
        assert snapshot(world.owner) == before, f"a refused {key} ({label}) changed data"
        response = call(owner, op.method, url)
        assert response.status_code == owner_status, (key, label, response.content[:300])


def test_public_and_unlisted_videos_play_for_anyone_with_the_link(world):
    unlisted = make_video(world.owner, "unlisted", visibility="unlisted")
    stranger = Client()
    stranger.force_login(world.intruder)
    for video in (world.videos["public"], unlisted):
        for client in (stranger, Client()):
            assert client.get(f"/api/videos/{video.pk}").status_code == 200
            play = client.get(f"/api/videos/{video.pk}/playback")
            assert play.status_code == 200
            assert client.get(play.json()["master_url"]).status_code == 200
    listed = {item["id"] for item in Client().get("/api/videos/?limit=100").json()["items"]}
    assert world.videos["public"].pk in listed and unlisted.pk not in listed  # unlisted: only by link


def pay_for(video, *, amount, n: int) -> None:
    mirrored_payment(sender=MALLORY, recipient=video.owner.wallet_address, amount=amount, n=n)


def test_paid_video_plays_once_paid_and_not_before(world):
    paid = world.videos["paid"]
    stranger = Client()
    stranger.force_login(world.intruder)
    assert stranger.get(f"/api/videos/{paid.pk}").status_code == 200  # its page is public: price, title
    refused = stranger.get(f"/api/videos/{paid.pk}/playback")
    assert refused.status_code == 403 and refused.json()["code"] == "payment_required"
    pay_for(paid, amount=paid.price - 1, n=1)
    assert stranger.get(f"/api/videos/{paid.pk}/playback").status_code == 403  # short of the price
    pay_for(paid, amount=paid.price, n=2)
    play = stranger.get(f"/api/videos/{paid.pk}/playback")
    assert play.status_code == 200
    assert stranger.get(play.json()["master_url"]).status_code == 200
    assert Client().get(play.json()["master_url"]).status_code == 403  # bound to the payer


def test_a_listing_thumbnail_link_does_not_unlock_a_paid_video(world):
    """The listing gives every signed-in viewer a link bound to them for the thumbnail; the same
    signed prefix must not serve the playlists of a video they have not paid for."""
    paid = world.videos["paid"]
    stranger = Client()
    stranger.force_login(world.intruder)
    items = {item["id"]: item for item in stranger.get("/api/videos/?limit=100").json()["items"]}
    thumbnail = items[paid.pk]["thumbnail_url"]
    assert stranger.get(thumbnail).status_code == 200
    prefix = thumbnail.rsplit("/", 1)[0]
    for path in ("hls/master.m3u8", "hls/360p/index.m3u8", "hls/360p/seg0.ts"):
        assert stranger.get(f"{prefix}/{path}").status_code == 403, path


def test_a_paid_link_stops_working_when_the_video_turns_private(world):
    paid = world.videos["paid"]
    pay_for(paid, amount=paid.price, n=1)
    stranger = Client()
    stranger.force_login(world.intruder)
    master = stranger.get(f"/api/videos/{paid.pk}/playback").json()["master_url"]
    assert stranger.get(master).status_code == 200
    Video.objects.filter(pk=paid.pk).update(visibility="private")
    assert stranger.get(master).status_code == 403
    assert stranger.get(f"/api/videos/{paid.pk}").status_code == 404


def test_drafts_are_seen_by_their_owner_only(world):
    draft = world.videos["draft"]
    stranger = Client()
    stranger.force_login(world.intruder)
    assert stranger.get(f"/api/videos/{draft.pk}").status_code == 404
    assert draft.pk not in {item["id"] for item in stranger.get("/api/videos/?limit=100").json()["items"]}
    owner = Client()
    owner.force_login(world.owner)
    assert draft.pk in {item["id"] for item in owner.get("/api/videos/?limit=100").json()["items"]}


def test_video_reads_recognise_bearer_tokens_and_let_visitors_in(world):
    """List, detail and playback use optional_auth: a token holder is themselves, a visitor is let in."""
    _, raw = api_token_create(user=world.owner, name="player")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    private = world.videos["private"]
    assert Client().get(f"/api/videos/{private.pk}", **bearer).status_code == 200
    assert Client().get(f"/api/videos/{private.pk}/playback", **bearer).status_code == 200
    assert private.pk in {item["id"] for item in Client().get("/api/videos/?limit=100", **bearer).json()["items"]}
    bad = Client().get(f"/api/videos/{world.videos['public'].pk}", HTTP_AUTHORIZATION="Bearer fc_wrong")
    assert bad.status_code == 401 and bad.json()["code"] == "unauthorized"  # a bad token is not a visitor
    for key in ("GET /api/videos/", "GET /api/videos/{video_id}", "GET /api/videos/{video_id}/playback"):
        assert operation(key).anonymous_allowed, key
    assert not operation("DELETE /api/videos/{video_id}").anonymous_allowed
    assert [op.key for op in api_operations() if op.anonymous_allowed and op.method not in ("GET", "HEAD")] == [
        "POST /api/auth/siwe/verify", "POST /api/auth/register", "POST /api/auth/login",
        "POST /api/auth/verify-email/resend",
    ]
