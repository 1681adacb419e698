"""Sablier V2 LockupLinear streams (the real protocol from node_modules, on anvil) are indexed like ours:
mirrored as PaymentStream rows of protocol "sablier", counted by viewer_has_paid, rolled back by a reorg."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from integrations.blockchain.rpc import ChainRPC
from payments import indexer, services
from payments.models import Payment, PaymentStream
from payments.selectors import PaidTerms, stream_amounts, viewer_has_paid
from tests.chain_helpers import GAS, deploy_chain
from tests.sablier_helpers import deploy_sablier_on

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def world(anvil_factory, settings):
    node = anvil_factory()
    chain = deploy_chain(node)
    sablier = deploy_sablier_on(chain)
    settings.CHAIN_ID = node.chain_id
    services.deployment_record(chain_id=node.chain_id, token_address=chain.token.address, stream_address=chain.streams.address,
                               deploy_block=min(chain.deploy_block, sablier.deploy_block),
                               sablier_lockup_address=sablier.lockup.address)
    viewer_wallet, creator_wallet = chain.accounts[1], chain.accounts[2]
    chain.mint(viewer_wallet, 10**24)
    viewer = User.objects.create_user("viewer@example.com", "pw-123456789", wallet_address=viewer_wallet)
    creator = User.objects.create_user("creator@example.com", "pw-123456789", wallet_address=creator_wallet)

    def sync(confirmations=0):
        result = indexer.chain_sync(rpc=ChainRPC(node.url), chain_id=node.chain_id, confirmations=confirmations)
        assert result.error == ""
        return result

    return node, chain, sablier, viewer, creator, sync


def test_a_sablier_stream_is_indexed_unlocks_and_a_cancel_locks_again(world):
    node, chain, sablier, viewer, creator, sync = world
    deposit, duration = 7 * 3600 + 5, 3600  # does not divide: the mirrored rate rounds down to 7
    receipt = sablier.create_with_durations(chain.accounts[1], chain.accounts[2], deposit=deposit, duration=duration)
    sync()
    stream = PaymentStream.objects.get()
    assert stream.protocol == "sablier" and stream.contract_address == sablier.lockup.address.lower()
    assert (stream.deposit, stream.rate_per_second, stream.remaining_balance) == (deposit, 7, deposit)
    assert stream.sender == viewer.wallet_address and stream.recipient == creator.wallet_address
    assert stream.sender_user == viewer and stream.recipient_user == creator and not stream.transferable
    assert stream.tx_hash == receipt["transactionHash"].to_0x_hex() and stream.creation_confirmed
    assert (stream.stop_time - stream.start_time).total_seconds() == duration
    # The deposit moving into Sablier is not a payment to anyone.
    assert not Payment.objects.exists()

    assert viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=None, stream_rate=7))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=None, stream_rate=8))

    chain.w3.provider.make_request("evm_increaseTime", [100])
    chain.mine()
    stream_id = stream.stream_id
    withdrawable = sablier.lockup.functions.withdrawableAmountOf(stream_id).call()
    chain.wait(sablier.lockup.functions.withdraw(stream_id, chain.accounts[2], withdrawable)
               .transact({"from": chain.accounts[2], "gas": 500_000}))
    chain.wait(sablier.lockup.functions.cancel(stream_id).transact({"from": chain.accounts[1], "gas": 500_000}))
    sync()
    stream.refresh_from_db()
    # Sablier keeps the recipient's part at the cancel for a later withdrawal: the mirror says so.
    assert stream.cancelled and stream.remaining_balance == sablier.lockup.functions.withdrawableAmountOf(stream_id).call()
    assert stream.withdrawn == chain.token.functions.balanceOf(chain.accounts[2]).call()
    assert stream_amounts(stream=stream).withdrawable == stream.remaining_balance
    # Payouts from Sablier are withdrawals of the stream, never a one-off transfer that could buy the video.
    assert set(Payment.objects.values_list("kind", flat=True)) == {"withdrawal"}
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=1, stream_rate=7))
    before = sorted(PaymentStream.objects.values_list("stream_id", "withdrawn", "cancelled"))
    sync()
    assert sorted(PaymentStream.objects.values_list("stream_id", "withdrawn", "cancelled")) == before


def test_a_transferable_sablier_stream_is_mirrored_but_unlocks_nothing(world):
    node, chain, sablier, viewer, creator, sync = world
    sablier.create_with_durations(chain.accounts[1], chain.accounts[2], deposit=10 * 3600, duration=3600, transferable=True)
    sync()
    assert PaymentStream.objects.get().transferable
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=None, stream_rate=1))


def test_a_reorg_that_drops_a_sablier_stream_rolls_its_row_back(world):
    node, chain, sablier, viewer, creator, sync = world
    sync(confirmations=1)
    snapshot = node.snapshot()
    sablier.create_with_durations(chain.accounts[1], chain.accounts[2], deposit=10 * 3600, duration=3600)
    sync(confirmations=1)
    assert PaymentStream.objects.filter(protocol="sablier").count() == 1
    node.revert(snapshot)
    # The winning chain carries different content: the viewer pays someone else.
    chain.wait(chain.token.functions.transfer(chain.accounts[3], 5).transact({"from": chain.accounts[1], "gas": GAS}))
    chain.mine(3)
    result = sync(confirmations=1)
    assert result.reorgs == 1
    assert not PaymentStream.objects.exists()
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=None, stream_rate=1))
