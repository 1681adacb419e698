"""The indexer's signals reach the outbox: real chain events on anvil become emails to the
linked users, once, and a payment a reorg removed before it was confirmed sends nothing."""

import pytest

from accounts.models import User
from integrations.blockchain.rpc import ChainRPC
from notifications.models import OutboundEmail
from payments import services
from tests.chain_helpers import deploy_chain

pytestmark = pytest.mark.django_db(transaction=True)


def start(anvil_factory):
    node = anvil_factory()
    chain = deploy_chain(node)
    services.deployment_record(chain_id=node.chain_id, token_address=chain.token.address,
                               stream_address=chain.streams.address, deploy_block=chain.deploy_block)
    viewer_address, creator_address = chain.accounts[1:3]
    viewer = User.objects.create_user(email="viewer@example.com", password="x", wallet_address=viewer_address)
    creator = User.objects.create_user(email="creator@example.com", password="x", wallet_address=creator_address)
    OutboundEmail.objects.all().delete()  # the welcome emails
    return node, chain, viewer_address, creator_address


def sync(node, confirmations=0):
    return services.chain_sync(rpc=ChainRPC(node.url), chain_id=node.chain_id, confirmations=confirmations)


def emails():
    return sorted(OutboundEmail.objects.values_list("template", "recipient"))


def test_payments_and_streams_email_both_sides_once(anvil_factory):
    node, chain, viewer, creator = start(anvil_factory)  # checksummed addresses of the two users
    chain.mint(viewer, 10**22)
    chain.transfer(viewer, creator, 7 * 10**18)
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
    # The transfer and the cancel's payout to the creator are both payments to them.
    assert any(str(7 * 10**18) in body and chain.token.address.lower() in body.lower() for body in bodies)
    assert any(str(45 * 10**15) in body for body in bodies)
    sync(node)
    assert emails() == sent  # a second pass sends nothing again


def test_a_payment_orphaned_before_confirmation_sends_no_email(anvil_factory):
    node, chain, viewer, creator = start(anvil_factory)  # checksummed addresses of the two users
    chain.mint(viewer, 10**21)
    sync(node, confirmations=2)
    snapshot = node.snapshot()
    chain.transfer(viewer, creator, 5000)
    sync(node, confirmations=2)
    node.revert(snapshot)
    chain.mine(3)
    sync(node, confirmations=2)
    assert not OutboundEmail.objects.filter(template="payment_confirmed").exists()
