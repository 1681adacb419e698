"""The indexer's signals reach the outbox and a real SMTP sink: real chain events on anvil become
emails to the linked users, once, in the token's units; what a reorg removes is cancelled before it
goes out, or corrected (once) when it already went out; a replaced or redeployed stream #1 is a new
event with its own emails."""

from io import StringIO

import pytest
from django.core.management import call_command
from web3 import Web3

from accounts.models import User
from core.jobs import claim
from integrations.blockchain.rpc import ChainRPC
from notifications import emails as outbox_emails
from notifications import services as outbox_services
from notifications.models import OutboundEmail
from payments import indexer, services
from payments.models import ChainDeployment, Payment, PaymentStream
from tests.chain_helpers import chain_at, deploy_chain
from tests.outbox_fixtures import outbox  # noqa: F401
from tests.payment_helpers import payment_row

pytestmark = pytest.mark.django_db(transaction=True)

FLOW = 10**18


def start(anvil_factory, settings):
    node = anvil_factory()
    # The emails read the token's decimals and symbol from the configured node.
    settings.RPC_URL, settings.CHAIN_ID = node.url, node.chain_id
    chain = deploy_chain(node)
    services.deployment_record(chain_id=node.chain_id, token_address=chain.token.address,
                               stream_address=chain.streams.address, deploy_block=chain.deploy_block)
    viewer_address, creator_address, patron_address = chain.accounts[1:4]
    User.objects.create_user(email="viewer@example.com", password="x", wallet_address=viewer_address)
    User.objects.create_user(email="creator@example.com", password="x", wallet_address=creator_address)
    User.objects.create_user(email="patron@example.com", password="x", wallet_address=patron_address)
    OutboundEmail.objects.all().delete()  # the welcome emails
    return node, chain, viewer_address, creator_address


def sync(node, confirmations=0):
    result = indexer.chain_sync(rpc=ChainRPC(node.url), chain_id=node.chain_id, confirmations=confirmations)
    assert result.error == "", result.error
    return result


def emails():
    return sorted(OutboundEmail.objects.values_list("template", "recipient"))


def received(server):
    """What the SMTP sink got, as (kind, recipient, subject, text body)."""
    return [(m.message["X-Flowcast-Email"], m.rcpt_tos[0], m.message["Subject"],
             m.message.get_body(("plain",)).get_content()) for m in server.messages]


def deliver(server) -> list[tuple]:
    """Drain the outbox into the sink; what arrived in this drain."""
    before = len(server.messages)
    outbox_services.outbound_email_drain()
    return received(server)[before:]


def test_payments_and_streams_email_both_sides_once(anvil_factory, settings):
    node, chain, viewer, creator = start(anvil_factory, settings)  # checksummed addresses of the two users
    chain.mint(viewer, 10**22)
    chain.transfer(viewer, creator, 7 * FLOW)
    now = chain.timestamp()
    stream_id, _ = chain.create_stream(viewer, creator, rate=10**15, start=now + 5, duration=100)
    chain.set_next_timestamp(now + 50)
    chain.cancel(viewer, stream_id)
    sync(node)
    sent = emails()
    assert ("payment_confirmed", "creator@example.com") in sent
    assert ("stream_started", "creator@example.com") in sent and ("stream_started", "viewer@example.com") in sent
    assert ("stream_cancelled", "creator@example.com") in sent and ("stream_cancelled", "viewer@example.com") in sent
    bodies = OutboundEmail.objects.filter(template="payment_confirmed", recipient="creator@example.com").values_list(
        "body_text", flat=True
    )
    # The transfer and the cancel's payout to the creator are both payments to them, in the token's units.
    assert any("7 FLOW" in body and chain.token.address.lower() in body.lower() for body in bodies)
    assert any("0.045 FLOW" in body for body in bodies)
    started = OutboundEmail.objects.get(template="stream_started", recipient="creator@example.com")
    assert "0.1 FLOW" in started.body_text and "0.001 FLOW per second" in started.body_text
    sync(node)
    assert emails() == sent  # a second pass sends nothing again


def test_a_payment_orphaned_before_confirmation_sends_no_email(anvil_factory, settings):
    node, chain, viewer, creator = start(anvil_factory, settings)  # checksummed addresses of the two users
    chain.mint(viewer, 10**21)
    sync(node, confirmations=2)
    snapshot = node.snapshot()
    chain.transfer(viewer, creator, 5000)
    sync(node, confirmations=2)
    node.revert(snapshot)
    chain.mine(3)
    sync(node, confirmations=2)
    assert not OutboundEmail.objects.filter(template="payment_confirmed").exists()


@pytest.mark.parametrize("sent_before_reorg", [True, False], ids=["already-sent", "still-queued"])
def test_a_reorg_that_replaces_stream_1_emails_the_real_stream_and_never_the_orphan(anvil_factory, outbox, settings,
                                                                                     sent_before_reorg):
    node, chain, viewer, creator = start(anvil_factory, settings)
    patron = chain.accounts[3]
    chain.mint(viewer, 10**22)
    chain.mint(patron, 10**22)
    sync(node)
    snapshot = node.snapshot()
    now = chain.timestamp()
    orphan_id, orphan_receipt = chain.create_stream(viewer, creator, rate=10**15, start=now + 600, duration=3600)
    sync(node)
    orphan_tx = orphan_receipt["transactionHash"].to_0x_hex()
    if sent_before_reorg:
        first = deliver(outbox)
        assert sorted((kind, to) for kind, to, *_ in first) == [("stream_started", "creator@example.com"),
                                                                ("stream_started", "viewer@example.com")]

    node.revert(snapshot)  # the winning chain has another stream with the same id, from another sender
    real_id, real_receipt = chain.create_stream(patron, creator, rate=2 * 10**15, start=now + 600, duration=3600)
    assert real_id == orphan_id
    result = sync(node)
    assert result.reorgs == 1
    after = deliver(outbox)

    started = [(to, subject, text) for kind, to, subject, text in after if kind == "stream_started"]
    assert sorted(to for to, *_ in started) == ["creator@example.com", "patron@example.com"]
    to_creator = next(text for to, _, text in started if to == "creator@example.com")
    assert patron.lower() in to_creator and "7.2 FLOW" in to_creator
    assert real_receipt["transactionHash"].to_0x_hex() in to_creator
    corrections = [(to, subject, text) for kind, to, subject, text in after if kind == "chain_event_reversed"]
    if sent_before_reorg:
        # The two who were told about the orphan hear, once each, that the chain reversed it.
        assert sorted(to for to, *_ in corrections) == ["creator@example.com", "viewer@example.com"]
        for _, subject, text in corrections:
            assert f"#{orphan_id}" in subject and "reversed" in subject
            assert orphan_tx in text and "3.6 FLOW" in text
    else:
        # Nobody heard of the orphan: its emails are cancelled, with the reason, and there is nothing to correct.
        assert corrections == []
        assert not [m for m in after if viewer.lower() in m[3]]
        cancelled = OutboundEmail.objects.filter(status="cancelled")
        assert sorted(cancelled.values_list("recipient", flat=True)) == ["creator@example.com", "viewer@example.com"]
        assert all("reversed by the chain" in row.last_error for row in cancelled)
        assert not OutboundEmail.objects.filter(template="chain_event_reversed").exists()

    sync(node)
    assert deliver(outbox) == []  # a later pass neither repeats nor corrects again


def test_a_confirmed_payment_the_chain_reverses_gets_one_correction_in_token_units(anvil_factory, outbox, settings):
    node, chain, viewer, creator = start(anvil_factory, settings)
    chain.mint(viewer, 10**22)
    sync(node, confirmations=3)
    snapshot = node.snapshot()
    paid = chain.transfer(viewer, creator, 3 * FLOW)
    sync(node, confirmations=3)
    assert deliver(outbox) == []  # with confirmations, payment emails wait for them
    chain.mine(3)
    sync(node, confirmations=3)
    subjects = sorted((to, subject) for _, to, subject, _ in deliver(outbox))
    assert subjects == [("creator@example.com", "You received a payment of 3 FLOW"),
                        ("viewer@example.com", "Your payment of 3 FLOW is confirmed")]

    node.revert(snapshot)  # a deeper chain without that payment wins
    chain.mint(chain.accounts[4], 1)  # other content, so the blocks differ
    chain.mine(6)
    sync(node, confirmations=3)
    assert Payment.objects.get(amount=3 * FLOW).status == "orphaned"
    corrections = deliver(outbox)
    assert sorted((kind, to) for kind, to, *_ in corrections) == [("chain_event_reversed", "creator@example.com"),
                                                                  ("chain_event_reversed", "viewer@example.com")]
    tx_hash = paid["transactionHash"].to_0x_hex()
    for _, _, subject, text in corrections:
        assert "3 FLOW" in subject
        assert f"the payment of 3 FLOW in transaction {tx_hash} was reversed by the chain and no longer counts" in " ".join(text.split())
    sync(node, confirmations=3)
    assert deliver(outbox) == []


def test_queued_payment_emails_are_cancelled_and_one_mid_send_is_corrected(anvil_factory, outbox, settings):
    node, chain, viewer, creator = start(anvil_factory, settings)
    chain.mint(viewer, 10**22)
    sync(node)
    snapshot = node.snapshot()
    chain.transfer(viewer, creator, FLOW // 2)
    sync(node)
    to_viewer = OutboundEmail.objects.get(template="payment_confirmed", recipient="viewer@example.com")
    to_creator = OutboundEmail.objects.get(template="payment_confirmed", recipient="creator@example.com")
    assert to_viewer.subject == "Your payment of 0.5 FLOW is confirmed"
    # A sender holds the viewer's email (claimed, being sent) when the reorg lands: it cannot be recalled.
    assert claim(OutboundEmail.objects.all(), pk=to_viewer.pk, field="status", from_values=["queued"], to_value="sending")

    node.revert(snapshot)
    chain.mint(chain.accounts[4], 1)  # other content, so the blocks differ
    chain.mine(2)
    sync(node)
    to_viewer.refresh_from_db()
    to_creator.refresh_from_db()
    assert to_creator.status == "cancelled" and "reversed by the chain" in to_creator.last_error
    assert to_viewer.status == "sending"  # the cancel never steals a row from its sender
    correction = OutboundEmail.objects.get(template="chain_event_reversed")
    assert correction.recipient == "viewer@example.com" and correction.status == "queued"
    # The cancelled row is never sent, not even by an operator's "resend".
    queued, skipped = outbox_services.outbound_email_resend(email_ids=[to_creator.pk])
    assert (queued, skipped) == ([], 1)
    assert [(kind, to) for kind, to, *_ in deliver(outbox)] == [("chain_event_reversed", "viewer@example.com")]


def test_a_second_chain_deploy_gets_emails_for_its_own_stream_1(anvil_factory, outbox, settings):
    node = anvil_factory()
    settings.RPC_URL, settings.CHAIN_ID, settings.CHAIN_DEPLOYER_KEY = node.url, node.chain_id, node.private_keys[0]
    settings.CHAIN_CONFIRMATIONS = 0
    accounts = Web3(Web3.HTTPProvider(node.url)).eth.accounts
    viewer, creator = accounts[1:3]
    User.objects.create_user(email="viewer@example.com", password="x", wallet_address=viewer)
    User.objects.create_user(email="creator@example.com", password="x", wallet_address=creator)
    OutboundEmail.objects.all().delete()
    started = []
    for _ in range(2):
        call_command("chain", "deploy", "--mint-to", viewer, stdout=StringIO())
        deployment = ChainDeployment.objects.get()
        chain = chain_at(node, token_address=deployment.token_address, stream_address=deployment.stream_address)
        stream_id, _ = chain.create_stream(viewer, creator, rate=10**15, start=chain.timestamp() + 600, duration=3600)
        assert stream_id == 1
        call_command("chain", "sync", stdout=StringIO())
        arrived = [m for m in deliver(outbox) if m[0] == "stream_started"]
        assert sorted(to for _, to, *_ in arrived) == ["creator@example.com", "viewer@example.com"]
        assert all(deployment.stream_address in text.lower() for *_, text in arrived)
        started += arrived
    assert len(started) == 4


def test_a_cancel_the_chain_reverses_is_corrected_once_and_the_stream_runs_again(anvil_factory, outbox, settings):
    node, chain, viewer, creator = start(anvil_factory, settings)
    chain.mint(viewer, 10**22)
    now = chain.timestamp()
    stream_id, _ = chain.create_stream(viewer, creator, rate=10**15, start=now + 600, duration=3600)
    sync(node)
    assert sorted(kind for kind, *_ in deliver(outbox)) == ["stream_started", "stream_started"]
    snapshot = node.snapshot()
    cancel = chain.cancel(viewer, stream_id)
    sync(node)
    assert sorted(kind for kind, *_ in deliver(outbox)) == ["stream_cancelled", "stream_cancelled"]

    node.revert(snapshot)
    chain.mint(chain.accounts[4], 1)  # the winning chain has no cancel
    chain.mine(2)
    sync(node)
    corrections = deliver(outbox)
    assert sorted((kind, to) for kind, to, *_ in corrections) == [("chain_event_reversed", "creator@example.com"),
                                                                  ("chain_event_reversed", "viewer@example.com")]
    for _, _, subject, text in corrections:
        assert subject == f"The cancellation of payment stream #{stream_id} was reversed by the chain"
        assert cancel["transactionHash"].to_0x_hex() in text and "runs again" in text
    stream = PaymentStream.objects.get()
    assert not stream.cancelled and stream.cancel_event_key == ""
    sync(node)
    assert deliver(outbox) == []


def test_a_reorg_racing_a_drain_never_sends_a_cancelled_email_and_corrects_each_one_that_went_out(outbox, settings):
    """The orphaning and a sender run at once over 60 queued payment emails (no chain needed: the
    rows are the indexer's; the race is between the two conditional UPDATEs). Whatever the
    interleaving, each email is either cancelled and never delivered, or delivered and corrected once.
    On PostgreSQL (read committed) a read-then-write cancel fails this; SQLite serialises the two."""
    import threading
    import time

    from django.db import connection, transaction

    settings.RPC_URL = "http://127.0.0.1:9"  # no node: amounts in base units, which is fine here
    payer = User.objects.create_user(email="payer@example.com", password="x", wallet_address="0x" + "11" * 20)
    payee = User.objects.create_user(email="payee@example.com", password="x", wallet_address="0x" + "22" * 20)
    OutboundEmail.objects.all().delete()  # the welcome emails
    token = "0x" + "33" * 20
    payments = [
        payment_row(n, sender=payer.wallet_address, recipient=payee.wallet_address, amount=n, token_address=token,
                    block_hash=f"0x{n + 1000:064x}", contract_address=token, from_user=payer, to_user=payee)
        for n in range(1, 31)
    ]
    with transaction.atomic():
        for payment in payments:
            outbox_emails.payment_confirmed_emails_queue(payment=payment)
    assert OutboundEmail.objects.filter(status="queued").count() == 60
    barrier, errors = threading.Barrier(2), []

    def sender():
        try:
            barrier.wait(timeout=10)
            outbox_services.outbound_email_drain(limit=100)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    outbox.delay_data(0.05, times=60)  # a slow server, so the orphaning lands while the drain is under way
    thread = threading.Thread(target=sender)
    thread.start()
    barrier.wait(timeout=10)
    while len(outbox.messages) < 3 and thread.is_alive():
        time.sleep(0.01)  # let a few go out first: some rows sent, one being sent, the rest queued
    for payment in payments:  # one transaction per orphaned payment, as many reorgs would
        with transaction.atomic():
            outbox_emails.payment_orphaned_emails_queue(payment=payment)
    thread.join(timeout=60)
    assert errors == []
    outbox_services.outbound_email_drain(limit=200)  # the corrections

    delivered = {m.message["Message-ID"].strip("<>") for m in outbox.messages}
    confirmations = OutboundEmail.objects.filter(template="payment_confirmed")
    for row in confirmations:
        reached = row.message_id.strip("<>") in delivered
        correction = OutboundEmail.objects.filter(idempotency_key=f"reversed:{row.idempotency_key}").first()
        if row.status == "cancelled":
            assert not reached and correction is None
        else:
            assert row.status == "sent" and reached
            assert correction is not None and correction.status == "sent" and correction.recipient == row.recipient
    assert len(outbox.messages) == len(set(m.message["Message-ID"] for m in outbox.messages))  # nothing twice
    assert OutboundEmail.objects.filter(template="chain_event_reversed").count() == confirmations.filter(status="sent").count()
