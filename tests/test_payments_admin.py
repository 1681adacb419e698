"""Admin: the chain mirrors are visible to staff and cannot be edited by hand."""

import pytest
from django.urls import reverse

from payments import services, tokens
from tests.test_payments_api import make_payment, make_stream

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["payment", "paymentstream", "indexercursor", "chaindeployment", "indexedblock"])
def test_changelists_show_and_adding_is_refused(admin_client, model):
    services.deployment_record(chain_id=31337, token_address="0x" + "1" * 40, stream_address="0x" + "2" * 40, deploy_block=1)
    make_payment(1)
    make_stream(1)
    assert admin_client.get(reverse(f"admin:payments_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:payments_{model}_add")).status_code == 403


def test_a_payment_cannot_be_changed(admin_client):
    payment = make_payment(7, amount=5)
    url = reverse("admin:payments_payment_change", args=[payment.pk])
    assert admin_client.get(url).status_code == 200  # viewable
    assert admin_client.post(url, {"amount": "999999", "status": "confirmed"}).status_code == 403
    assert 'name="_save"' not in admin_client.get(url).content.decode()
    payment.refresh_from_db()
    assert payment.amount == 5


# -- explorer-style details -------------------------------------------------------------------------


@pytest.fixture
def token_on_chain(anvil_snapshot, settings):
    """Our token on a real anvil, so the admin reads its decimals (18) and symbol (FLOW)."""
    from tests.chain_helpers import deploy_chain

    settings.RPC_URL = anvil_snapshot.url
    return deploy_chain(anvil_snapshot).token.address.lower()


def test_a_payment_reads_like_a_block_explorer(admin_client, token_on_chain):
    from accounts.models import User
    from payments.models import IndexerCursor, Payment

    payer = User.objects.create_user("payer@example.com", wallet_address="0x" + "a" * 40)
    stream = make_stream(3)
    payment = make_payment(40, sender="0x" + "a" * 40, amount=3_600_000_000_000_000_000)
    # A withdrawal as the indexer mirrors it (payments.indexer: stream and its on-chain id).
    Payment.objects.filter(pk=payment.pk).update(token_address=token_on_chain, from_user=payer, stream=stream,
                                                 stream_id_onchain=stream.stream_id, kind="withdrawal")
    IndexerCursor.objects.create(chain_id=31337, contract_address="0x" + "2" * 40, token_address=token_on_chain,
                                 last_block=45, head_block=45)

    page = admin_client.get(reverse("admin:payments_payment_change", args=[payment.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert payment.tx_hash in html and payment.block_hash in html
    assert "3.6 FLOW" in html and "3,600,000,000,000,000,000" in html  # token units and base units
    assert "6 (head 45 at the indexer&#x27;s last pass)" in html  # blocks 40..45
    assert "status-ok" in html and "Confirmed" in html
    assert reverse("admin:accounts_user_change", args=[payer.pk]) in html
    assert reverse("admin:payments_paymentstream_change", args=[stream.pk]) in html and "stream #3" in html
    assert 'name="_save"' not in html  # read-only: no save button
    listing = admin_client.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert "3.6 FLOW" in listing


def test_a_stream_shows_its_amounts_now_and_links_its_payouts(admin_client, token_on_chain):
    from datetime import timedelta

    from django.utils import timezone

    from payments.models import PaymentStream

    ended = make_stream(5, start=timezone.now() - timedelta(seconds=2000), duration=1000, rate=10**15, withdrawn=10**17)
    PaymentStream.objects.filter(pk=ended.pk).update(token_address=token_on_chain)
    payout = make_payment(50, amount=10**17)
    payout.stream, payout.kind = ended, "withdrawal"
    payout.save()

    page = admin_client.get(reverse("admin:payments_paymentstream_change", args=[ended.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "status-ok" in html and ">ended<" in html
    readonly = '<div class="readonly">{}</div>'.format
    assert readonly("0.001 FLOW / s") in html and readonly("1 FLOW") in html  # rate; deposit = streamed so far
    assert readonly("0 FLOW") in html  # still to stream
    assert readonly("0.9 FLOW") in html  # withdrawable: streamed 1 − withdrawn 0.1
    assert payout.tx_hash in html  # the payouts inline
    link = reverse("admin:payments_payment_changelist") + f"?stream__id__exact={ended.pk}"
    assert link in html and "1 payout(s)" in html
    unrelated = make_payment(51)
    filtered = admin_client.get(link)

    def short(tx_hash):
        return f"{tx_hash[:10]}…{tx_hash[-6:]} #0"

    assert filtered.status_code == 200 and short(payout.tx_hash) in filtered.content.decode()
    assert short(unrelated.tx_hash) not in filtered.content.decode()


def test_streams_scheduled_running_and_cancelled_without_a_chain(admin_client):
    """The node is down (RPC_URL points nowhere): amounts fall back to base units, the pages still answer."""
    from datetime import timedelta

    from django.utils import timezone

    from payments.models import PaymentStream

    running = make_stream(1, rate=7, duration=1000)
    scheduled = make_stream(2, start=timezone.now() + timedelta(hours=1))
    cancelled = make_stream(3)
    PaymentStream.objects.filter(pk=cancelled.pk).update(cancelled=True, withdrawn=700, cancel_recipient_balance=700,
                                                         cancel_sender_balance=6300, cancel_tx_hash="0x" + "c" * 64)
    pages = {s.stream_id: admin_client.get(reverse("admin:payments_paymentstream_change", args=[s.pk]))
             for s in (running, scheduled, cancelled)}
    assert {n: p.status_code for n, p in pages.items()} == {1: 200, 2: 200, 3: 200}
    assert "status-busy" in pages[1].content.decode() and ">streaming<" in pages[1].content.decode()
    assert "7,000 base units" in pages[1].content.decode()
    assert ">scheduled<" in pages[2].content.decode()
    cancelled_html = pages[3].content.decode()
    assert ">cancelled<" in cancelled_html and "recipient 700 base units, back to the sender 6,300 base units" in cancelled_html
    assert "0x" + "c" * 64 in cancelled_html


def test_a_stream_cannot_be_changed_or_deleted(admin_client):
    stream = make_stream(9, rate=7)
    url = reverse("admin:payments_paymentstream_change", args=[stream.pk])
    assert admin_client.post(url, {"rate_per_second": "1", "cancelled": "on"}).status_code == 403
    assert 'name="_save"' not in admin_client.get(url).content.decode()
    stream.refresh_from_db()
    assert stream.rate_per_second == 7 and not stream.cancelled
    assert admin_client.get(reverse("admin:payments_paymentstream_delete", args=[stream.pk])).status_code == 403


def test_the_lists_run_a_fixed_number_of_queries(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(model):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse(f"admin:payments_{model}_changelist")).status_code == 200
        return len(captured)

    make_payment(1)
    make_stream(1)
    few = queries("payment"), queries("paymentstream")
    for n in range(2, 25):
        make_payment(n)
        make_stream(n)
    assert (queries("payment"), queries("paymentstream")) == few


def test_the_admin_pages_need_staff(client, django_user_model):
    stream = make_stream(1)
    user = django_user_model.objects.create_user("viewer@example.com", "pw-123456789")
    client.force_login(user)
    response = client.get(reverse("admin:payments_paymentstream_change", args=[stream.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("amount, decimals, expected", [
    (3_600_000_000_000_000_000, 18, "3.6 FLOW"),
    (0, 18, "0 FLOW"),
    (1, 18, "0.000000000000000001 FLOW"),
    (1_234_567 * 10**18, 18, "1,234,567 FLOW"),
    (2**256 - 1, 18, "115,792,089,237,316,195,423,570,985,008,687,907,853,269,984,665,640,564,039,457.584007913129639935 FLOW"),
    (1500, None, "1,500 base units"),
])
def test_token_amounts_are_exact(amount, decimals, expected):
    meta = tokens.TokenMeta(decimals=decimals, symbol="FLOW" if decimals is not None else "")
    assert tokens.token_amount_format(amount=amount, meta=meta) == expected
