"""The wallet bundles (static/wallet/) in headless Debian Chromium, with an injected EIP-6963 wallet that
forwards to a real anvil (tests/fixtures/wallet.py): pay by stream on our PaymentStream and on the real
Sablier V2 LockupLinear, pay the one-time price, sign in with Ethereum against the real SIWE API.

The pages are test pages (tests/wallet_urls.py) under the app's CSP; the playback API is a stand-in that
answers 403 until the chain holds the payment, so these tests cover the checkout, not the indexer.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3

from tests import wallet_urls
from tests.chain_helpers import deploy_chain
from tests.fixtures.browser import save_screenshot, wait_for
from tests.fixtures.wallet import inject_wallet
from tests.sablier_helpers import deploy_sablier_on

pytestmark = [pytest.mark.slow]

DURATION = 3600
MIN_RATE = 5
EVENTS_RECORDER = """() => {
  window.__walletEvents = [];
  const plain = (value) => JSON.parse(JSON.stringify(value, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
  for (const name of ["flowcast:paid", "flowcast:playable", "flowcast:siwe"]) {
    window.addEventListener(name, (event) => window.__walletEvents.push({ type: name, detail: plain(event.detail) }));
  }
}"""


@pytest.fixture(scope="module")
def contracts(anvil):
    chain = deploy_chain(anvil)
    return chain, deploy_sablier_on(chain)


@pytest.fixture
def site(settings, live_server):
    settings.ROOT_URLCONF = "tests.wallet_urls"
    wallet_urls.PLAYBACK.update(playable=lambda: False, polls=0)
    yield live_server.url
    wallet_urls.CHECKOUT["config"] = {}


def checkout_config(chain, *, stream_kind: str | None, stream_address: str | None, creator: str, price: int | None = None,
                    confirmations: int = 3) -> dict:
    return {
        "chain": {"id": chain.node.chain_id, "name": "Flowcast test chain", "rpc_url": chain.node.url},
        "token": {"address": chain.token.address, "decimals": 18, "symbol": "FLOW"},
        "stream": None if stream_kind is None else {
            "kind": stream_kind, "address": stream_address, "min_rate": str(MIN_RATE), "durations": [DURATION, 2 * DURATION],
            "start_delay_seconds": 60,
        },
        "price": None if price is None else str(price),
        "creator": creator,
        "video_id": 7,
        "playback_url": "/test-wallet/playback/",
        "confirmations": confirmations,
        "poll_interval_ms": 200,
    }


def open_checkout(page, site: str, anvil, viewer: str, config: dict, **wallet_kind):
    wallet_urls.CHECKOUT["config"] = config
    wallet = inject_wallet(page, rpc_url=anvil.url, account=viewer, **wallet_kind)
    response = page.goto(f"{site}/test-wallet/checkout/")
    # The app's CSP holds on the test page too: the bundle runs with script-src 'self', no eval.
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    page.evaluate(EVENTS_RECORDER)
    page.wait_for_selector("[data-checkout-pay]")
    return wallet


def events(page, name: str) -> list[dict]:
    return [e["detail"] for e in page.evaluate("window.__walletEvents") if e["type"] == name]


def pay_and_confirm(page, chain, confirmations: int = 3):
    """Click pay; once the transaction has 1 of N confirmations, check nothing unlocks yet, mine the rest."""
    page.click("[data-checkout-pay]")
    wait_for(page, "(document.querySelector('[data-progress=confirm]') || {}).value === 1"
                   " || document.querySelector('#paywall').dataset.state === 'error'")
    assert page.evaluate("document.querySelector('#paywall').dataset.state") == "paying", page.text_content("[data-checkout-error]")
    assert wallet_urls.PLAYBACK["polls"] == 0 and events(page, "flowcast:paid") == []
    chain.mine(confirmations - 1)
    wait_for(page, "['playable', 'error'].includes(document.querySelector('#paywall').dataset.state)")
    assert page.evaluate("document.querySelector('#paywall').dataset.state") == "playable", page.text_content("[data-checkout-error]")


def test_stream_on_our_contract_from_the_browser(page, site, anvil, contracts, anvil_snapshot):
    chain, _ = contracts
    viewer, creator = chain.accounts[3], chain.accounts[4]
    chain.mint(viewer, 10**18)
    first_id = chain.streams.functions.nextStreamId().call()
    wallet_urls.PLAYBACK["playable"] = lambda: chain.streams.functions.nextStreamId().call() > first_id
    wallet = open_checkout(page, site, anvil, viewer, checkout_config(chain, stream_kind="flowcast", stream_address=chain.streams.address,
                                                                      creator=creator))
    assert page.text_content("[data-deposit]") == f"Deposit: {Web3.from_wei(MIN_RATE * DURATION, 'ether'):f} FLOW".replace(".000000000000000000", "")

    # Below the video's minimum: refused in the page, nothing sent to the wallet.
    page.fill("input[name=rate]", f"{Web3.from_wei(MIN_RATE - 1, 'ether'):f}")
    page.click("[data-checkout-pay]")
    wait_for(page, "document.querySelector('#paywall').dataset.state === 'error'")
    assert "at least 5 base units" in page.text_content("[data-checkout-error]")
    assert "eth_sendTransaction" not in wallet.calls

    rate = 7
    page.fill("input[name=rate]", f"{Web3.from_wei(rate, 'ether'):f}")
    page.select_option("select[name=duration]", str(2 * DURATION))
    pay_and_confirm(page, chain)
    save_screenshot(page, "wallet-checkout-flowcast")

    (paid,) = events(page, "flowcast:paid")
    stream_id = int(paid["streamId"])
    sender, recipient, deposit, token, start, stop, remaining, rate_per_second, cancelled = chain.streams.functions.getStream(stream_id).call()
    assert (sender, recipient, token) == (viewer, creator, chain.token.address)
    assert deposit == rate * 2 * DURATION and rate_per_second == rate and stop - start == 2 * DURATION and not cancelled
    assert chain.token.functions.balanceOf(chain.streams.address).call() == deposit
    (playable,) = events(page, "flowcast:playable")
    assert playable["videoId"] == 7 and playable["playback"]["master_url"] == "/play/test/master.m3u8"
    # The wallet started on mainnet and did not know the chain: switch → 4902 → add → switch.
    assert wallet.calls.count("wallet_switchEthereumChain") == 2 and "wallet_addEthereumChain" in wallet.calls
    assert wallet.calls.count("eth_sendTransaction") == 2  # approve, createStream
    steps = page.eval_on_selector_all("[data-step]", "items => items.map((i) => [i.dataset.step, i.dataset.state])")
    assert steps == [["connect", "done"], ["approve", "done"], ["create", "done"], ["confirm", "done"], ["unlock", "done"]]


def test_stream_on_sablier_from_the_browser(page, site, anvil, contracts, anvil_snapshot):
    chain, sablier = contracts
    viewer, creator = chain.accounts[5], chain.accounts[4]
    chain.mint(viewer, 10**18)
    first_id = sablier.lockup.functions.nextStreamId().call()
    wallet_urls.PLAYBACK["playable"] = lambda: sablier.lockup.functions.nextStreamId().call() > first_id
    wallet = open_checkout(page, site, anvil, viewer, checkout_config(chain, stream_kind="sablier", stream_address=sablier.lockup.address,
                                                                      creator=creator))
    pay_and_confirm(page, chain)

    (paid,) = events(page, "flowcast:paid")
    stream = sablier.lockup.functions.getStream(int(paid["streamId"])).call()
    sender, recipient, start, cancelable, canceled, asset, end, depleted, is_stream, transferable, amounts, cliff = stream
    assert (sender, recipient, asset) == (viewer, creator, chain.token.address)
    assert amounts[0] == MIN_RATE * DURATION and end - start == DURATION
    assert is_stream and cancelable and not canceled and not transferable
    assert wallet.calls.count("eth_sendTransaction") == 2  # approve, createWithDurations
    assert "(Flowcast test wallet)" in page.text_content("[data-step=connect]")  # found through EIP-6963
    assert events(page, "flowcast:playable")


def test_a_rejected_transaction_says_so_and_the_viewer_can_retry(page, site, anvil, contracts, anvil_snapshot):
    chain, sablier = contracts
    viewer, creator = chain.accounts[5], chain.accounts[4]
    chain.mint(viewer, 10**18)
    first_id = sablier.lockup.functions.nextStreamId().call()
    wallet_urls.PLAYBACK["playable"] = lambda: sablier.lockup.functions.nextStreamId().call() > first_id
    wallet = open_checkout(page, site, anvil, viewer, checkout_config(chain, stream_kind="sablier", stream_address=sablier.lockup.address,
                                                                      creator=creator, confirmations=1))
    wallet.rejected_methods.add("eth_sendTransaction")
    page.click("[data-checkout-pay]")
    wait_for(page, "document.querySelector('#paywall').dataset.state === 'error'")
    assert page.text_content("[data-checkout-error]") == "You rejected the request in your wallet."
    assert sablier.lockup.functions.nextStreamId().call() == first_id and page.is_enabled("[data-checkout-pay]")

    wallet.rejected_methods.clear()
    page.click("[data-checkout-pay]")
    wait_for(page, "['playable', 'error'].includes(document.querySelector('#paywall').dataset.state)")
    assert page.evaluate("document.querySelector('#paywall').dataset.state") == "playable", page.text_content("[data-checkout-error]")
    assert sablier.lockup.functions.nextStreamId().call() == first_id + 1
    assert page.text_content("[data-checkout-error]") == ""


def test_one_time_payment_from_the_browser(page, site, anvil, contracts, anvil_snapshot):
    chain, _ = contracts
    viewer, creator = chain.accounts[6], chain.accounts[7]
    price = 3 * 10**15
    chain.mint(viewer, 10**18)
    before = chain.token.functions.balanceOf(creator).call()
    wallet_urls.PLAYBACK["playable"] = lambda: chain.token.functions.balanceOf(creator).call() >= before + price
    wallet = open_checkout(page, site, anvil, viewer, checkout_config(chain, stream_kind=None, stream_address=None, creator=creator,
                                                                      price=price, confirmations=2),
                           announce=False, set_window_ethereum=True)
    pay_and_confirm(page, chain, confirmations=2)
    # No EIP-6963 announcement: the checkout fell back to window.ethereum.
    assert "(Browser wallet)" in page.text_content("[data-step=connect]")

    assert chain.token.functions.balanceOf(creator).call() == before + price
    assert wallet.calls.count("eth_sendTransaction") == 1  # one transfer, no approve
    assert events(page, "flowcast:paid")[0]["kind"] == "payment"


def click_siwe(page, site: str) -> dict:
    page.goto(f"{site}/test-wallet/siwe/")
    page.evaluate(EVENTS_RECORDER)
    page.click("#siwe button")
    wait_for(page, "['signed', 'error'].includes(document.querySelector('#siwe').dataset.state)")
    assert page.evaluate("document.querySelector('#siwe').dataset.state") == "signed", page.text_content("[data-siwe-status]")
    (result,) = events(page, "flowcast:siwe")
    return result


@pytest.mark.django_db(transaction=True)
def test_sign_in_with_ethereum_button_links_then_signs_in(page, site, settings, anvil, contracts, client):
    from accounts.models import User
    from accounts.siwe import parse_message

    chain, _ = contracts
    settings.SITE_URL, settings.CHAIN_ID = site, anvil.chain_id
    account = chain.accounts[8]
    wallet = inject_wallet(page, rpc_url=anvil.url, account=account)
    user = User.objects.create_user(email="viewer@example.com", password="pw-a-long-one-123")
    client.force_login(user)
    host = site.split("://")[1].split(":")[0]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                               "domain": host, "path": "/"}])

    # Signed in with email: the button links the wallet (the studio's case).
    linked = click_siwe(page, site)
    message = parse_message(linked["message"])
    assert message.address == account and message.chain_id == anvil.chain_id and message.statement == "Sign in to Flowcast."
    assert Account.recover_message(encode_defunct(text=linked["message"]), signature=linked["signature"]) == account
    assert linked["linked"] is True and linked["user_id"] == user.pk
    user.refresh_from_db()
    assert user.wallet_address.lower() == account.lower()
    assert "linked to your account" in page.text_content("[data-siwe-status]")
    # Signing needs no chain switch (the message names its chain): the wallet stayed where it was.
    assert "wallet_switchEthereumChain" not in wallet.calls and wallet.calls.count("personal_sign") == 1

    # A new browser session: the same button signs in to the account the wallet is linked to (the sign-in page's case).
    page.context.clear_cookies()
    signed_in = click_siwe(page, site)
    assert signed_in["linked"] is False and signed_in["user_id"] == user.pk
    assert Account.recover_message(encode_defunct(text=signed_in["message"]), signature=signed_in["signature"]) == account
    assert "Signed in as" in page.text_content("[data-siwe-status]")
    me = page.request.get(f"{site}/api/auth/me")
    assert me.ok and me.json()["id"] == user.pk


@pytest.mark.parametrize(("change", "message"), [
    ({"stream": {"kind": "superfluid", "address": "0x" + "11" * 20, "min_rate": "5"}}, 'stream.kind must be "flowcast" or "sablier"'),
    ({"creator": "0x1234"}, "creator is not an address"),
    ({"stream": {"kind": "flowcast", "address": "0x" + "11" * 20, "min_rate": "0.5"}}, "stream.min_rate must be a string of digits"),
    ({"stream": None, "price": None}, "nothing to pay"),
])
def test_a_bad_checkout_config_shows_what_is_wrong_and_offers_no_button(page, site, anvil, contracts, change, message):
    chain, _ = contracts
    config = {**checkout_config(chain, stream_kind="flowcast", stream_address=chain.streams.address, creator=chain.accounts[4]),
              **change}
    wallet_urls.CHECKOUT["config"] = config
    wallet = inject_wallet(page, rpc_url=anvil.url, account=chain.accounts[3])
    page.goto(f"{site}/test-wallet/checkout/")
    wait_for(page, "document.querySelector('#paywall').dataset.state === 'error'")
    assert message in page.text_content("#paywall")
    assert page.query_selector("[data-checkout-pay]") is None and wallet.calls == []
