"""The chain indexer against a real anvil node running our compiled contracts."""

from __future__ import annotations

import threading

import pytest
from django.test import override_settings

from integrations.blockchain.rpc import ChainRPC, RangeTooLarge, RPCError, RPCUnavailable
from payments import indexer, services
from payments.models import IndexerCursor, Payment, PaymentStream
from payments.signals import payment_confirmed, payment_orphaned, stream_cancelled, stream_created
from tests.chain_helpers import attach_chain, deploy_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def signals_seen():
    """Every payments signal sent, as (name, row id, amount/stream id)."""
    seen: list[tuple] = []
    receivers = {
        "payment_confirmed": lambda sender, payment, **kw: seen.append(("payment_confirmed", payment.tx_hash, payment.amount)),
        "payment_orphaned": lambda sender, payment, **kw: seen.append(("payment_orphaned", payment.tx_hash, payment.amount)),
        "stream_created": lambda sender, stream, **kw: seen.append(("stream_created", stream.stream_id)),
        "stream_cancelled": lambda sender, stream, **kw: seen.append(("stream_cancelled", stream.stream_id)),
    }
    signals = {"payment_confirmed": payment_confirmed, "payment_orphaned": payment_orphaned,
               "stream_created": stream_created, "stream_cancelled": stream_cancelled}
    for name, receiver in receivers.items():
        signals[name].connect(receiver, weak=False)
    yield seen
    for name, receiver in receivers.items():
        signals[name].disconnect(receiver)


def start_chain(anvil_factory, **node_options):
    node = anvil_factory(**node_options)
    chain = deploy_chain(node)
    services.deployment_record(
        chain_id=node.chain_id, token_address=chain.token.address, stream_address=chain.streams.address,
        deploy_block=chain.deploy_block,
    )
    return node, chain


def sync(node, *, confirmations=0, **rpc_options):
    result = indexer.chain_sync(rpc=ChainRPC(node.url, **rpc_options), chain_id=node.chain_id, confirmations=confirmations)
    return result


def snapshot_rows():
    return (
        sorted(Payment.objects.values_list("tx_hash", "log_index", "amount", "status", "kind", "block_hash")),
        sorted(PaymentStream.objects.values_list("stream_id", "deposit", "withdrawn", "remaining_balance", "cancelled")),
    )


def test_create_withdraw_cancel_are_mirrored_exactly_and_a_rerun_changes_nothing(anvil_factory, signals_seen):
    node, chain = start_chain(anvil_factory)
    viewer, creator, other = chain.accounts[1:4]
    chain.mint(viewer, 10**24)
    transfer_amount = 123456789012345678901234  # more than 2**64: exact amounts end to end
    chain.transfer(viewer, creator, transfer_amount)
    now = chain.timestamp()
    rate, duration = 3 * 10**15 + 7, 1000
    stream_id, _ = chain.create_stream(viewer, creator, rate=rate, start=now + 10, duration=duration)
    chain.set_next_timestamp(now + 10 + 250)
    chain.withdraw(creator, stream_id, 100 * rate)
    chain.set_next_timestamp(now + 10 + 400)
    chain.cancel(viewer, stream_id)
    on_chain_creator = chain.token.functions.balanceOf(creator).call()

    first = sync(node)
    assert first.error == ""
    stream = PaymentStream.objects.get(stream_id=stream_id)
    assert (stream.deposit, stream.rate_per_second) == (rate * duration, rate)
    assert stream.sender == viewer.lower() and stream.recipient == creator.lower()
    assert stream.cancelled and stream.cancelled_at.timestamp() == now + 10 + 400
    # 400 s streamed in all: 100 s withdrawn before, 300 s paid out by the cancel; the rest back to the sender.
    assert stream.withdrawn == 400 * rate
    assert stream.cancel_recipient_balance == 300 * rate
    assert stream.cancel_sender_balance == (duration - 400) * rate
    assert stream.remaining_balance == 0
    payments = {p.amount: p for p in Payment.objects.all()}
    assert set(payments) == {transfer_amount, 100 * rate, 300 * rate}
    assert payments[transfer_amount].kind == "transfer" and payments[100 * rate].kind == "withdrawal"
    assert all(p.status == "confirmed" for p in payments.values())
    # What the index says the creator received equals what the chain says.
    assert sum(p.amount for p in Payment.objects.filter(to_address=creator.lower(), status="confirmed")) == on_chain_creator
    assert sorted(s[0] for s in signals_seen) == ["payment_confirmed"] * 3 + ["stream_cancelled", "stream_created"]

    before = snapshot_rows()
    second = sync(node)
    assert (second.events, second.new_payments, second.confirmed) == (0, 0, 0)
    assert snapshot_rows() == before
    # Even with the cursor wound back (a crash before it was saved), nothing is stored or signalled twice.
    IndexerCursor.objects.update(last_block=chain.deploy_block - 1, last_block_hash="")
    again = sync(node)
    assert again.events == 9 and again.new_payments == 0
    assert snapshot_rows() == before
    assert len(signals_seen) == 5


def test_reorg_orphans_a_pending_payment_which_never_signals(anvil_factory, signals_seen):
    node, chain = start_chain(anvil_factory)
    viewer, creator, other = chain.accounts[1:4]
    chain.mint(viewer, 10**21)
    sync(node, confirmations=2)
    snapshot = node.snapshot()
    chain.transfer(viewer, creator, 5000)
    result = sync(node, confirmations=2)
    orphan = Payment.objects.get(amount=5000)
    assert orphan.status == "pending" and result.confirmed == 0

    node.revert(snapshot)  # the block with the payment is gone; the winning chain pays someone else
    chain.transfer(viewer, other, 4000)
    chain.mine(3)
    result = sync(node, confirmations=2)
    assert result.reorgs == 1
    orphan.refresh_from_db()
    assert orphan.status == "orphaned"
    winner = Payment.objects.get(amount=4000)
    assert winner.status == "confirmed" and winner.to_address == other.lower()
    assert ("payment_confirmed", orphan.tx_hash, 5000) not in signals_seen
    assert ("payment_orphaned", orphan.tx_hash, 5000) not in signals_seen
    assert [s for s in signals_seen if s[0] == "payment_confirmed"] == [("payment_confirmed", winner.tx_hash, 4000)]
    assert IndexerCursor.objects.get().reorgs_detected == 1


def test_deep_reorg_orphans_confirmed_rows_and_reindexes_without_double_counting(anvil_factory, signals_seen):
    node, chain = start_chain(anvil_factory)
    viewer, creator = chain.accounts[1:3]
    chain.mint(viewer, 10**21)
    now = chain.timestamp()
    stream_id, _ = chain.create_stream(viewer, creator, rate=10, start=now + 5, duration=100)
    sync(node)
    snapshot = node.snapshot()
    raw_transfer = chain.signed_transfer(node.private_keys[1], creator, 777)
    tx = chain.send_raw(raw_transfer)
    chain.set_next_timestamp(now + 5 + 50)
    chain.withdraw(creator, stream_id, 300)
    sync(node)
    assert PaymentStream.objects.get().withdrawn == 300
    assert Payment.objects.get(amount=777).status == "confirmed"

    node.revert(snapshot)
    chain.mine(2)  # the same transfer lands two blocks later on the new chain
    tx_again = chain.send_raw(raw_transfer)
    assert tx_again["transactionHash"] == tx["transactionHash"]
    assert tx_again["blockNumber"] != tx["blockNumber"]
    chain.set_next_timestamp(now + 5 + 60)
    chain.withdraw(creator, stream_id, 200)  # and the recipient withdrew a different amount
    result = sync(node)
    assert result.reorgs == 1

    transfer_rows = Payment.objects.filter(tx_hash=tx["transactionHash"].to_0x_hex())
    assert transfer_rows.count() == 1  # one row per log, whatever happened
    row = transfer_rows.get()
    assert row.status == "confirmed" and row.block_number == tx_again["blockNumber"]
    assert Payment.objects.get(amount=300).status == "orphaned"
    stream = PaymentStream.objects.get()
    assert stream.withdrawn == 200 and stream.remaining_balance == 1000 - 200
    confirmed_total = sum(p.amount for p in Payment.objects.filter(to_address=creator.lower(), status="confirmed"))
    assert confirmed_total == chain.token.functions.balanceOf(creator).call() == 977
    assert ("payment_orphaned", row.tx_hash, 777) in signals_seen
    assert ("payment_orphaned", Payment.objects.get(amount=300).tx_hash, 300) in signals_seen


def test_a_chain_that_got_shorter_orphans_what_it_dropped(anvil_factory, signals_seen):
    """anvil_rollback drops the top blocks: the indexer's cursor block no longer exists."""
    node, chain = start_chain(anvil_factory)
    viewer, creator = chain.accounts[1:3]
    chain.mint(viewer, 10**21)
    kept = chain.transfer(viewer, creator, 1)
    dropped = chain.transfer(viewer, creator, 2)
    sync(node, confirmations=0)
    node.rpc("anvil_rollback", [1])
    result = sync(node, confirmations=0)
    assert result.reorgs == 1 and result.orphaned == 1
    statuses = dict(Payment.objects.values_list("amount", "status"))
    assert statuses == {1: "confirmed", 2: "orphaned"}
    assert IndexerCursor.objects.get().last_block == kept["blockNumber"] == dropped["blockNumber"] - 1


def test_reorg_that_removes_a_stream_deletes_its_mirror(anvil_factory, signals_seen):
    node, chain = start_chain(anvil_factory)
    viewer, creator = chain.accounts[1:3]
    chain.mint(viewer, 10**21)
    sync(node, confirmations=1)
    snapshot = node.snapshot()
    now = chain.timestamp()
    chain.create_stream(viewer, creator, rate=10, start=now + 5, duration=100)
    sync(node, confirmations=1)
    assert PaymentStream.objects.count() == 1
    node.revert(snapshot)
    chain.mine(3)
    sync(node, confirmations=1)
    assert PaymentStream.objects.count() == 0
    assert not [s for s in signals_seen if s[0] == "stream_created"]


def test_indexer_survives_the_rpc_dropping_out_and_resumes_from_its_cursor(anvil_factory, tmp_path):
    node, chain = start_chain(anvil_factory, state_path=tmp_path / "anvil-state.json")
    viewer, creator = chain.accounts[1:3]
    chain.mint(viewer, 10**21)
    chain.transfer(viewer, creator, 1)
    assert sync(node).error == ""
    cursor_before = IndexerCursor.objects.get().last_block

    node.stop()
    failed = sync(node, retry_attempts=2, max_retry_wait=0.05)
    assert "unreachable" in failed.error
    cursor = IndexerCursor.objects.get()
    assert cursor.last_block == cursor_before and "unreachable" in cursor.last_error and cursor.state == "idle"

    node.start()  # same port, chain state loaded from the state file
    chain = attach_chain(node, chain)
    chain.transfer(viewer, creator, 2)
    # Drop out again and come back while a pass is retrying: tenacity rides over it.
    node.stop()
    restarter = threading.Timer(0.5, node.start)
    restarter.start()
    try:
        result = sync(node, retry_attempts=10, max_retry_wait=0.5)
    finally:
        restarter.join()
    assert result.error == "", result.error
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [1, 2]
    assert IndexerCursor.objects.get().last_error == ""


class RangeLimitedRPC(ChainRPC):
    """A node that refuses eth_getLogs ranges wider than `limit` blocks. Faked on top of the real
    anvil: anvil has no range limit, and providers' limits cannot be reproduced locally."""

    def __init__(self, url, limit):
        super().__init__(url)
        self.limit = limit
        self.refused = 0

    def get_logs(self, *, from_block, to_block, addresses, topics=None):
        if to_block - from_block + 1 > self.limit:
            self.refused += 1
            raise RangeTooLarge("eth_getLogs", {"code": -32005, "message": f"block range too large, max {self.limit}"})
        return super().get_logs(from_block=from_block, to_block=to_block, addresses=addresses, topics=topics)


def test_ranges_shrink_when_the_node_refuses_and_grow_when_calls_are_cheap(anvil_factory):
    node, chain = start_chain(anvil_factory)
    viewer, creator = chain.accounts[1:3]
    chain.mint(viewer, 10**21)
    for amount in range(1, 6):
        chain.transfer(viewer, creator, amount)
        chain.mine(40)
    limited = RangeLimitedRPC(node.url, limit=50)
    IndexerCursor.objects.update(range_size=1000)
    result = indexer.chain_sync(rpc=limited, chain_id=node.chain_id, confirmations=0)
    assert result.error == "" and limited.refused >= 1
    assert max(result.range_sizes) <= 50
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [1, 2, 3, 4, 5]

    IndexerCursor.objects.update(range_size=4)
    chain.mine(200)
    result = sync(node)
    assert result.range_sizes[0] == 4 and result.range_sizes[-1] > 4  # it grew


def test_a_second_pass_while_one_runs_does_nothing(anvil_factory):
    node, chain = start_chain(anvil_factory)
    IndexerCursor.objects.update(state="running", heartbeat_at=indexer.timezone.now())
    assert sync(node).busy
    IndexerCursor.objects.update(heartbeat_at=indexer.timezone.now() - indexer.CURSOR_STALE_AFTER * 2)
    assert not sync(node).busy  # a pass whose worker died is taken over


def test_sync_refuses_a_node_on_another_chain(anvil_factory):
    node, chain = start_chain(anvil_factory)
    with override_settings(CHAIN_ID=1):
        services.deployment_record(chain_id=1, token_address=chain.token.address, stream_address=chain.streams.address, deploy_block=1)
        result = indexer.chain_sync(rpc=ChainRPC(node.url), chain_id=1)
    assert "not chain 1" in result.error


def test_follow_runs_passes_until_told_to_stop_and_the_task_waits_for_a_deployment(anvil_factory, settings):
    from payments.models import ChainDeployment
    from payments.tasks import chain_follow_task

    node, chain = start_chain(anvil_factory)
    settings.RPC_URL, settings.CHAIN_CONFIRMATIONS = node.url, 0
    viewer, creator = chain.accounts[1:3]
    chain.mint(viewer, 10**21)
    passes = []

    def stop_after_two():
        passes.append(1)
        if len(passes) == 1:
            chain.transfer(viewer, creator, 99)  # arrives between passes
        return len(passes) == 2

    assert indexer.chain_follow(interval=0.01, should_stop=stop_after_two) == 2
    assert Payment.objects.get().amount == 99
    ChainDeployment.objects.all().delete()
    assert chain_follow_task(seconds=0) == 0


def test_only_transient_rpc_errors_are_retried(anvil):
    rpc = ChainRPC(anvil.url, retry_attempts=4, max_retry_wait=0.01)
    with pytest.raises(RPCError):
        rpc.request("eth_getBlockByNumber", ["not-a-block", False])  # our mistake: asked once
    assert rpc.calls == 1
    down = ChainRPC("http://127.0.0.1:9", retry_attempts=3, max_retry_wait=0.01)
    with pytest.raises(RPCUnavailable):
        down.head()  # connection refused: asked again, then given up
    assert down.calls == 3
