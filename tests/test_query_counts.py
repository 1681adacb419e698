"""No N+1: every list endpoint of the API (found in the OpenAPI schema, so new ones are covered)
runs the same fixed number of SQL queries for a page of 1 and a page of 100 rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiToken, User
from media_pipeline.models import Rendition, Video
from payments.models import IndexerCursor, Payment, PaymentStream
from pinning.models import IPFSRecord
from tests.api_inventory import list_operations, operation
from tests.payment_helpers import payment_row, stream_row

pytestmark = pytest.mark.django_db

ROWS = 101  # more than the largest page
WALLET = "0x" + "a1" * 20
OTHER = "0x" + "b2" * 20


def make_tokens(user):
    ApiToken.objects.bulk_create(
        ApiToken(user=user, name=f"t{n}", prefix=f"fc_{n:08d}", token_hash=f"{n:064x}") for n in range(ROWS)
    )


def make_videos(user):
    other = User.objects.create_user(email="other-creator@example.com", password="pw-other-long-1")
    videos = Video.objects.bulk_create(
        Video(owner=user if n % 2 else other, title=f"v{n}", visibility=("public", "paid", "private")[n % 3],
              price=10**18 if n % 3 == 1 else None, status="ready", hls_path=f"videos/{n}/out-1/hls",
              thumbnail=f"videos/{n}/out-1/thumbnail.jpg", duration=10)
        for n in range(ROWS * 2)
    )
    Rendition.objects.bulk_create(
        Rendition(video=video, name="360p", width=640, height=360, video_bitrate=800, audio_bitrate=128, codecs="avc1",
                  frame_rate=30, playlist="360p/index.m3u8", bandwidth=1, average_bandwidth=1)
        for video in videos
    )


def make_payments(user):
    stream = make_streams(user, count=1)[0]
    Payment.objects.bulk_create(
        payment_row(n, sender=WALLET if n % 2 else OTHER, recipient=OTHER if n % 2 else WALLET, amount=10**30,
                    save=False, from_user=user, stream=stream)
        for n in range(ROWS)
    )


def make_streams(user, count=ROWS):
    start = timezone.now() - timedelta(seconds=100)
    return PaymentStream.objects.bulk_create(
        stream_row(n, sender=WALLET if n % 2 else OTHER, recipient=OTHER if n % 2 else WALLET, start=start, rate=1,
                   save=False, sender_user=user if n % 2 else None)
        for n in range(count)
    )


def make_records(user):
    from django.contrib.contenttypes.models import ContentType

    video = Video.objects.create(owner=user, title="pinned", status="ready")
    IPFSRecord.objects.bulk_create(
        IPFSRecord(kind="file", name=f"r{n}", backend="embedded", status="pinned", cid=f"bafy{n:055d}",
                   content_type=ContentType.objects.get_for_model(Video) if n % 2 else None,
                   object_id=video.pk if n % 2 else None, uploaded_by=None if n % 2 else user)
        for n in range(ROWS)
    )


def make_cursors(user, *, count=ROWS, first=0):
    IndexerCursor.objects.bulk_create(
        IndexerCursor(chain_id=n, contract_address="0x" + "d4" * 20, token_address="0x" + "c3" * 20, last_block=n,
                      head_block=n + 5)
        for n in range(first, first + count)
    )


# For each list endpoint: how to fill it with more rows than a page, the URL, and how many SQL queries
# a page costs whatever its size (session + user, then the endpoint's own).
LIST_CASES = {
    "GET /api/auth/tokens": (make_tokens, "/api/auth/tokens", 4),
    "GET /api/videos/": (make_videos, "/api/videos/", 4),
    "GET /api/payments/mine": (make_payments, "/api/payments/mine", 4),
    "GET /api/payments/streams": (make_streams, "/api/payments/streams", 4),
    "GET /api/payments/history/{address}": (make_payments, f"/api/payments/history/{WALLET}", 4),
    "GET /api/payments/indexer": (make_cursors, "/api/payments/indexer", 3),
    "GET /api/ipfs/records": (make_records, "/api/ipfs/records", 4),
}
UNPAGED = {"GET /api/payments/indexer"}  # a status list: one row per chain and contract, all at once


def test_every_list_endpoint_has_a_query_count_case():
    assert {op.key for op in list_operations()} == set(LIST_CASES)


def test_every_list_but_a_status_list_is_paginated():
    assert {op.key for op in list_operations() if not op.paginated} == UNPAGED


def items_of(body) -> list:
    return body["items"] if isinstance(body, dict) else body


@pytest.mark.parametrize("key", sorted(LIST_CASES))
def test_a_list_costs_the_same_queries_for_1_and_100_rows(key, django_assert_num_queries):
    make, url, queries = LIST_CASES[key]
    assert operation(key).returns_list
    user = User.objects.create_user(email="lister@example.com", password="pw-lister-long", wallet_address=WALLET,
                                    is_staff=key in UNPAGED)
    client = Client()
    client.force_login(user)
    shown = []
    if key in UNPAGED:  # no page size: one row, then a hundred
        pages = [(lambda: make(user, count=1), url), (lambda: make(user, count=99, first=1), url)]
    else:
        pages = [(lambda: make(user), f"{url}?limit=1"), (lambda: None, f"{url}?limit=100")]
    for fill, page in pages:
        fill()
        with django_assert_num_queries(queries):
            response = client.get(page)
        assert response.status_code == 200, response.content[:300]
        shown.append(len(items_of(response.json())))
    assert shown == [1, 100]


def test_the_public_video_list_costs_the_same_for_visitors(django_assert_num_queries):
    owner = User.objects.create_user(email="creator@example.com", password="pw-creator-long")
    make_videos(owner)
    for limit in (1, 100):
        with django_assert_num_queries(2):  # count, page
            body = Client().get(f"/api/videos/?limit={limit}").json()
        assert len(body["items"]) == limit


def test_query_counts_do_not_depend_on_the_rows_shown():
    """The same page size over other rows (own and others', paid and private) costs the same too."""
    user = User.objects.create_user(email="mixer@example.com", password="pw-mixer-long-1", wallet_address=WALLET)
    make_videos(user)
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as first:
        page_one = client.get("/api/videos/?limit=100&offset=0")
    with CaptureQueriesContext(connection) as second:
        page_two = client.get("/api/videos/?limit=100&offset=100")
    assert page_one.status_code == page_two.status_code == 200
    ids_one = {item["id"] for item in page_one.json()["items"]}
    ids_two = {item["id"] for item in page_two.json()["items"]}
    assert ids_one and ids_two and not ids_one & ids_two  # two different, non-empty pages
    assert len(first) == len(second)
