"""Paid videos: access follows from what the indexer mirrored from a real anvil chain."""

from __future__ import annotations


import pytest

from accounts.models import User
from integrations.blockchain.rpc import ChainRPC
from media_pipeline.models import Video
from payments.models import ChainDeployment
from media_pipeline.access import can_watch
from payments import indexer
from tests.chain_helpers import deploy_recorded_chain_an_hour_behind

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(anvil_factory, settings):
    chain = deploy_recorded_chain_an_hour_behind(anvil_factory, settings)
    node = chain.node
    deployer, viewer_wallet, creator_wallet, streamer_wallet = chain.accounts[:4]
    for wallet in (viewer_wallet, streamer_wallet):
        chain.mint(wallet, 10**24)
    creator = User.objects.create_user("creator@example.com", "pw-123456789", wallet_address=creator_wallet)
    viewer = User.objects.create_user("viewer@example.com", "pw-123456789", wallet_address=viewer_wallet)
    streamer = User.objects.create_user("streamer@example.com", "pw-123456789", wallet_address=streamer_wallet)
    video = Video.objects.create(owner=creator, title="Paid", visibility="paid", price=1000, stream_rate=5)

    def sync(confirmations=0):
        result = indexer.chain_sync(rpc=ChainRPC(node.url), chain_id=node.chain_id, confirmations=confirmations)
        assert result.error == ""

    return chain, video, creator, viewer, streamer, sync


def test_one_off_payment_unlocks_only_when_confirmed_and_large_enough(setup):
    chain, video, creator, viewer, streamer, sync = setup
    assert not can_watch(video=video, viewer=viewer)
    chain.transfer(chain.accounts[1], chain.accounts[2], 999)
    sync()
    assert not can_watch(video=video, viewer=viewer)  # below the price
    chain.transfer(chain.accounts[1], chain.accounts[2], 1000)
    sync(confirmations=3)
    assert not can_watch(video=video, viewer=viewer)  # pending: not deep enough yet
    chain.mine(3)
    sync(confirmations=3)
    assert can_watch(video=video, viewer=viewer)
    assert not can_watch(video=video, viewer=streamer)  # someone else's payment
    other = Video.objects.create(owner=streamer, title="Other", visibility="paid", price=10)
    assert not can_watch(video=other, viewer=viewer)  # paid to another creator
    ChainDeployment.objects.update(token_address="0x" + "5" * 40)
    assert not can_watch(video=video, viewer=viewer)  # paid in a token we no longer price in


def test_an_active_stream_unlocks_until_cancelled(setup):
    chain, video, creator, viewer, streamer, sync = setup
    now = chain.timestamp()
    stream_id, _ = chain.create_stream(chain.accounts[3], chain.accounts[2], rate=5, start=now + 5, duration=7200)
    sync()
    assert can_watch(video=video, viewer=streamer)
    assert not can_watch(video=video, viewer=viewer)
    chain.cancel(chain.accounts[3], stream_id)
    sync()
    assert not can_watch(video=video, viewer=streamer)


def test_a_slow_or_ended_stream_does_not_unlock(setup):
    chain, video, creator, viewer, streamer, sync = setup
    now = chain.timestamp()
    chain.create_stream(chain.accounts[3], chain.accounts[2], rate=4, start=now + 5, duration=7200)  # too slow
    chain.create_stream(chain.accounts[3], chain.accounts[2], rate=50, start=now + 5, duration=600)  # ended ~50 min ago
    sync()
    assert not can_watch(video=video, viewer=streamer)


def test_owner_staff_and_anonymous(setup):
    from django.contrib.auth.models import AnonymousUser

    chain, video, creator, viewer, streamer, sync = setup
    staff = User.objects.create_user("staff@example.com", "pw-123456789", is_staff=True)
    assert can_watch(video=video, viewer=creator)
    assert can_watch(video=video, viewer=staff)
    assert not can_watch(video=video, viewer=AnonymousUser())
    assert not can_watch(video=video, viewer=None)
    private = Video.objects.create(owner=creator, title="Private", visibility="private")
    assert not can_watch(video=private, viewer=viewer) and can_watch(video=private, viewer=creator)
    public = Video.objects.create(owner=creator, title="Public", visibility="public")
    assert can_watch(video=public, viewer=None)


def test_viewer_has_paid_answers_for_terms_alone(setup):
    """payments answers only "has this viewer paid for these terms": no video, no owner or staff rule."""
    from django.contrib.auth.models import AnonymousUser

    from payments.selectors import PaidTerms, viewer_has_paid

    chain, video, creator, viewer, streamer, sync = setup
    staff = User.objects.create_user("staff@example.com", "pw-123456789", is_staff=True)
    price_terms = PaidTerms(creator_wallet=creator.wallet_address, price=1000, stream_rate=None)
    assert not viewer_has_paid(viewer=viewer, terms=price_terms)
    chain.transfer(chain.accounts[1], chain.accounts[2], 1000)
    stream_id, _ = chain.create_stream(chain.accounts[3], chain.accounts[2], rate=5, start=chain.timestamp() + 5, duration=7200)
    sync()
    assert viewer_has_paid(viewer=viewer, terms=price_terms)
    # Spelled in capitals, the creator's wallet is the same wallet.
    assert viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address.upper().replace("0X", "0x"),
                                                         price=1000, stream_rate=None))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=1001, stream_rate=None))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=None, stream_rate=5))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=streamer.wallet_address, price=1, stream_rate=None))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet="", price=1, stream_rate=None))
    # Paid in another token than the terms name: not paid.
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=1000,
                                                             stream_rate=None, token_address="0x" + "5" * 40))
    stream_terms = PaidTerms(creator_wallet=creator.wallet_address, price=None, stream_rate=5,
                             token_address=ChainDeployment.objects.get().token_address)
    assert viewer_has_paid(viewer=streamer, terms=stream_terms)
    assert not viewer_has_paid(viewer=streamer, terms=PaidTerms(creator_wallet=creator.wallet_address, price=None, stream_rate=6))
    # Owner, staff and visitors are the access rule's business: here they simply have not paid.
    assert not viewer_has_paid(viewer=creator, terms=price_terms)
    assert not viewer_has_paid(viewer=staff, terms=price_terms)
    assert not viewer_has_paid(viewer=AnonymousUser(), terms=price_terms)
    assert not viewer_has_paid(viewer=None, terms=price_terms)
    chain.cancel(chain.accounts[3], stream_id)
    sync()
    assert not viewer_has_paid(viewer=streamer, terms=stream_terms)
