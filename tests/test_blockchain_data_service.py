"""BlockchainDataService against the real anvil chain (and our index for history)."""

import pytest

from integrations.blockchain.service import BlockchainDataService, StreamNotFound, streamed_amount
from tests.chain_helpers import deploy_chain


@pytest.fixture(scope="module")
def chain(anvil):
    return deploy_chain(anvil)


def test_balances_decimals_and_stream_amounts_at_a_time(chain, anvil_snapshot):
    sender, recipient = chain.accounts[3:5]
    chain.mint(sender, 5 * 10**18)
    service = BlockchainDataService(rpc_url=chain.node.url, token_address=chain.token.address, stream_address=chain.streams.address)
    assert service.token_decimals() == 18 and service.token_symbol() == "FLOW"
    assert service.token_balance(sender) == 5 * 10**18
    now = chain.timestamp()
    stream_id, _ = chain.create_stream(sender, recipient, rate=3, start=now + 10, duration=100)
    before = service.stream(stream_id, at=now + 5)
    assert (before.status, before.streamed, before.recipient_balance, before.sender_balance) == ("scheduled", 0, 0, 300)
    middle = service.stream(stream_id, at=now + 10 + 40)
    assert (middle.status, middle.streamed, middle.recipient_balance, middle.sender_balance) == ("streaming", 120, 120, 180)
    chain.set_next_timestamp(now + 10 + 50)
    chain.withdraw(recipient, stream_id, 100)
    after = service.stream(stream_id, at=now + 10 + 60)
    assert (after.withdrawn, after.recipient_balance, after.remaining_balance) == (100, 80, 200)
    assert service.stream(stream_id, at=now + 1000).status == "ended"
    assert service.stream(stream_id, at=now + 1000).recipient_balance == 200
    with pytest.raises(StreamNotFound):
        service.stream(999_999)


def test_history_comes_from_the_injected_index():
    calls = []
    service = BlockchainDataService(
        rpc_url="http://127.0.0.1:9", token_address="0x" + "1" * 40, stream_address="0x" + "2" * 40,
        history_source=lambda address, offset, limit: calls.append((address, offset, limit)) or [{"amount": 1}],
    )
    assert service.transaction_history("0xABCDEF0000000000000000000000000000000001", offset=20, limit=10) == [{"amount": 1}]
    assert calls == [("0xabcdef0000000000000000000000000000000001", 20, 10)]
    with pytest.raises(ValueError):
        service.transaction_history("0x" + "3" * 40, limit=1000)


def test_streamed_amount_is_clamped():
    kwargs = {"deposit": 1000, "rate_per_second": 10, "start_time": 100, "stop_time": 200}
    assert [streamed_amount(at=t, **kwargs) for t in (50, 100, 150, 200, 500)] == [0, 0, 500, 1000, 1000]


def test_a_token_only_service_reads_the_token_and_has_no_streams(chain):
    """What `payments.tokens.token_meta_get` asks: decimals and symbol of a token, no stream contract needed;
    with retries off a down node fails on the first call instead of being asked again."""
    service = BlockchainDataService(rpc_url=chain.node.url, token_address=chain.token.address, timeout=3, retries=False)
    assert (service.token_decimals(), service.token_symbol()) == (18, "FLOW")
    with pytest.raises(RuntimeError, match="No stream contract"):
        service.stream(1)
    down = BlockchainDataService(rpc_url="http://127.0.0.1:9", token_address=chain.token.address, timeout=3, retries=False)
    assert down.w3.provider.exception_retry_configuration is None
    with pytest.raises(OSError):
        down.token_decimals()
