"""The payments API: my wallet (read from a real anvil), my payments and streams (paginated, a fixed
number of queries), stream detail with the live streamed amount, address history, errors."""

from __future__ import annotations

from functools import partial

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from payments import services
from payments.models import IndexerCursor
from tests.chain_helpers import deploy_chain
from tests.payment_helpers import payment_row, stream_row

pytestmark = pytest.mark.django_db
ME = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
CREATOR = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"


@pytest.fixture
def me(client):
    user = User.objects.create_user("me@example.com", "pw-123456789", wallet_address=ME)
    client.force_login(user)
    return user


# This file's wallets and contracts as the builders' defaults (test_payments_admin.py uses them too).
make_payment = partial(payment_row, sender=ME, recipient=CREATOR, amount=10**30, token_address="0x" + "1" * 40)
make_stream = partial(stream_row, sender=ME, recipient=CREATOR, token_address="0x" + "1" * 40,
                      contract_address="0x" + "2" * 40)


def test_requires_a_session(client, db):
    response = client.get("/api/payments/mine")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_my_payments_are_paginated_with_a_fixed_number_of_queries(client, me):
    for n in range(1, 31):
        make_payment(n)
    make_payment(99, sender=CREATOR, recipient="0x" + "9" * 40)  # not mine
    with CaptureQueriesContext(connection) as small:
        first = client.get("/api/payments/mine?limit=5").json()
    with CaptureQueriesContext(connection) as large:
        client.get("/api/payments/mine?limit=30")
    assert len(small) == len(large)
    assert first["count"] == 30 and len(first["items"]) == 5
    assert first["items"][0]["block_number"] == 30 and first["items"][0]["amount"] == str(10**30)
    assert client.get("/api/payments/mine?status=pending").json()["count"] == 0
    bad = client.get("/api/payments/mine?status=maybe")
    assert bad.status_code == 422 and "status" in bad.json()["fields"]


def test_my_streams_list_runs_a_fixed_number_of_queries(client, me):
    for n in range(1, 26):
        make_stream(n)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get("/api/payments/streams?limit=2").json()["items"]) == 2
    with CaptureQueriesContext(connection) as large:
        assert len(client.get("/api/payments/streams?limit=25").json()["items"]) == 25
    assert len(small) == len(large)


def test_my_streams_and_stream_detail_with_live_amount(client, me):
    stream = make_stream(1, withdrawn=200)
    make_stream(2, sender=CREATOR, recipient="0x" + "9" * 40)  # not mine
    listing = client.get("/api/payments/streams").json()
    assert listing["count"] == 1 and listing["items"][0]["deposit"] == "7000"
    detail = client.get(f"/api/payments/streams/{stream.pk}").json()
    assert detail["status"] == "streaming"
    assert 890 <= detail["seconds_left"] <= 900
    streamed = int(detail["streamed"])
    assert 100 * 7 <= streamed <= 110 * 7  # about 100 s at 7 per second
    assert int(detail["recipient_balance"]) == streamed - 200
    assert int(detail["sender_balance"]) == 7000 - 200 - int(detail["recipient_balance"])


def test_someone_elses_stream_is_forbidden_and_a_missing_one_is_404(client, me):
    other = make_stream(3, sender=CREATOR, recipient="0x" + "9" * 40)
    assert client.get(f"/api/payments/streams/{other.pk}").status_code == 403
    response = client.get("/api/payments/streams/999999")
    assert response.status_code == 404 and response.json()["message"]


def test_address_history_and_bad_input(client, me):
    make_payment(1)
    make_payment(2, sender=CREATOR, recipient=ME, amount=5)
    page = client.get(f"/api/payments/history/{ME.upper().replace('0X', '0x')}?limit=1").json()
    assert page["count"] == 2 and [(r["direction"], r["amount"]) for r in page["items"]] == [("in", "5")]
    rows = client.get(f"/api/payments/history/{ME}?offset=1").json()["items"]
    assert [(r["direction"], r["amount"]) for r in rows] == [("out", str(10**30))]
    bad = client.get("/api/payments/history/nope")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_address"
    assert client.get(f"/api/payments/history/{ME}?limit=1000").status_code == 422


def test_wallet_balances_from_the_chain(client, me, anvil_snapshot, settings):
    settings.RPC_URL = anvil_snapshot.url
    chain = deploy_chain(anvil_snapshot)
    services.deployment_record(chain_id=31337, token_address=chain.token.address, stream_address=chain.streams.address,
                               deploy_block=chain.deploy_block)
    chain.mint(chain.accounts[1], 4242)  # accounts[1] is ME
    body = client.get("/api/payments/wallet").json()
    assert body["token_balance"] == "4242" and body["token_decimals"] == 18 and body["address"] == ME
    settings.RPC_URL = "http://127.0.0.1:9"
    down = client.get("/api/payments/wallet")
    assert down.status_code == 503 and down.json()["code"] == "chain_unavailable"


def test_wallet_needs_a_linked_wallet(client, db):
    client.force_login(User.objects.create_user("nowallet@example.com", "pw-123456789"))
    response = client.get("/api/payments/wallet")
    assert response.status_code == 400 and response.json()["code"] == "no_wallet"


def test_indexer_status_is_for_staff(client, me):
    services.deployment_record(chain_id=31337, token_address="0x" + "1" * 40, stream_address="0x" + "2" * 40, deploy_block=5)
    services.deployment_record(chain_id=5, token_address="0x" + "3" * 40, stream_address="0x" + "4" * 40, deploy_block=90)
    IndexerCursor.objects.filter(chain_id=31337).update(head_block=24, last_block=20)
    refused = client.get("/api/payments/indexer")
    assert refused.status_code == 403
    assert refused.json() == {"code": "staff_only", "message": "Only staff may call this endpoint.", "fields": {}}
    from django.test import Client

    assert Client().get("/api/payments/indexer").json()["code"] == "unauthorized"
    me.is_staff = True
    me.save()
    cursors = client.get("/api/payments/indexer").json()
    assert [(c["chain_id"], c["contract_address"], c["last_block"], c["head_block"], c["lag_blocks"]) for c in cursors] == [
        (5, "0x" + "4" * 40, 89, None, None), (31337, "0x" + "2" * 40, 20, 24, 4),
    ]
    assert cursors[1]["state"] == "idle" and cursors[1]["token_address"] == "0x" + "1" * 40
