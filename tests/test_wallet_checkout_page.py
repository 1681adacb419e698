"""The wallet checkout on the REAL watch page (not the test pages of tests/wallet_urls.py): a viewer signed in
with a linked dev wallet opens a paid video, pays with the injected wallet (a stream on our contract or on the real
Sablier LockupLinear, per CHECKOUT_STREAM_PROTOCOL, on a real anvil), the indexer runs, the real playback API says yes and the player plays without a reload."""

from __future__ import annotations

import pytest

from accounts.models import User
from integrations.blockchain.rpc import ChainRPC
from payments import indexer, services
from payments.models import PaymentStream
from tests.chain_helpers import deploy_recorded_chain_an_hour_behind
from tests.fixtures.browser import save_screenshot, wait_for
from tests.fixtures.wallet import inject_wallet
from tests.sablier_helpers import deploy_sablier_on
from tests.test_player_browser import PASSWORD, assert_plays, media, publish, sign_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("protocol", ["flowcast", "sablier"])
def test_pay_with_wallet_on_the_watch_page_then_the_video_plays_without_a_reload(page, live_server, publish, anvil_factory,
                                                                                 settings, protocol):
    # The chain runs an hour behind the wall clock: the stream, which our contract starts ~60 s after the
    # latest block (the checkout's start delay), is already running by the wall clock the access rule reads.
    chain = deploy_recorded_chain_an_hour_behind(anvil_factory, settings)
    settings.CHAIN_CONFIRMATIONS, settings.CHECKOUT_STREAM_PROTOCOL = 1, protocol
    streams = chain.streams
    if protocol == "sablier":
        sablier = deploy_sablier_on(chain)
        services.deployment_record(chain_id=chain.node.chain_id, token_address=chain.token.address,
                                   stream_address=chain.streams.address, deploy_block=chain.deploy_block,
                                   sablier_lockup_address=sablier.lockup.address)
        streams = sablier.lockup
    settings.CHAIN_PUBLIC_RPC_URL = chain.node.url
    viewer_wallet, creator_wallet = chain.accounts[1], chain.accounts[2]
    chain.mint(viewer_wallet, 10**24)
    creator = User.objects.create_user("creator@example.com", PASSWORD, wallet_address=creator_wallet)
    viewer = User.objects.create_user("viewer@example.com", PASSWORD, wallet_address=viewer_wallet)
    video = publish(creator, title="Members only", visibility="paid", stream_rate=5)
    first_stream_id = streams.functions.nextStreamId().call()

    wallet = inject_wallet(page, rpc_url=chain.node.url, account=viewer_wallet)
    sign_in(page, live_server.url, viewer.email)
    response = page.goto(f"{live_server.url}/watch/{video.pk}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("[data-checkout-pay]")
    assert page.locator("video#video").is_hidden()
    page.select_option("select[name=duration]", "86400")
    page.click("[data-checkout-pay]")
    # The stream is on chain once the wallet sent approve + createStream.
    wait_for(page, "['paying', 'playable', 'error'].includes(document.querySelector('#checkout').dataset.state)")
    for _ in range(200):
        if streams.functions.nextStreamId().call() > first_stream_id:
            break
        page.wait_for_timeout(100)
    assert streams.functions.nextStreamId().call() == first_stream_id + 1, page.text_content("#checkout")
    assert wallet.calls.count("eth_sendTransaction") == 2  # approve, createStream

    result = indexer.chain_sync(rpc=ChainRPC(chain.node.url), chain_id=chain.node.chain_id, confirmations=0)
    assert result.error == "" and result.events >= 1
    mirrored = PaymentStream.objects.get(protocol=protocol)
    assert (mirrored.sender, mirrored.recipient) == (viewer_wallet.lower(), creator_wallet.lower())
    assert mirrored.rate_per_second >= 5 and mirrored.creation_confirmed and not mirrored.transferable

    wait_for(page, "['playable', 'error'].includes(document.querySelector('#checkout').dataset.state)", timeout=30_000)
    assert page.evaluate("document.querySelector('#checkout').dataset.state") == "playable", page.text_content("#checkout")
    assert page.evaluate("window.flowcastPlayer.unlocked") is True  # started by flowcast:playable, no reload
    assert page.locator("video#video").is_visible()
    state = assert_plays(page)
    assert len(state["levels"]) == video.renditions.count()
    save_screenshot(page, f"watch-page-wallet-checkout-{protocol}")
