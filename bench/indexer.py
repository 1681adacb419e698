"""Benchmark: our indexer (adaptive eth_getLogs ranges) vs a block-by-block scan, on a real anvil.

    .venv/bin/python bench/indexer.py [--events 2000] [--empty-blocks-per-event 1]

Both read the same chain and store the same rows in the same (throwaway SQLite) database; the
baseline asks `eth_getLogs` once per block, as a naive poller does. Prints RPC calls, wall time and
the ratios. Targets (issue 4): ≥ 20× fewer calls and ≥ 10× faster.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="flowcast-bench-")
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from integrations.blockchain import events as chain_events  # noqa: E402
from integrations.blockchain.rpc import ChainRPC  # noqa: E402
from payments import indexer, services  # noqa: E402
from payments.models import ChainDeployment, IndexedBlock, IndexerCursor, Payment  # noqa: E402
from tests.chain_helpers import deploy_chain  # noqa: E402
from tests.fixtures.anvil import AnvilNode  # noqa: E402


def make_events(node, chain, *, events: int, empty_blocks_per_event: int) -> None:
    sender = chain.accounts[1]
    chain.mint(sender, 10**30)
    recipients = chain.accounts[2:10]
    data_prefix = chain.token.functions.transfer(recipients[0], 1)._encode_transaction_data()[:10]
    with httpx.Client(base_url=node.url, timeout=30) as http:
        def rpc(method, params):
            body = http.post("", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
            if "error" in body:
                raise RuntimeError(body["error"])
            return body["result"]

        for i in range(events):
            to = recipients[i % len(recipients)]
            data = data_prefix + to[2:].lower().rjust(64, "0") + hex(i + 1)[2:].rjust(64, "0")
            rpc("eth_sendTransaction", [{"from": sender, "to": chain.token.address, "data": data, "gas": hex(100_000)}])
            if empty_blocks_per_event:
                rpc("anvil_mine", [hex(empty_blocks_per_event)])


def reset(deployment) -> None:
    Payment.objects.all().delete()
    IndexedBlock.objects.all().delete()
    IndexerCursor.objects.update(last_block=deployment.deploy_block - 1, last_block_hash="", range_size=1000)


def block_by_block(node, deployment, head: int) -> tuple[int, float]:
    """The baseline: one eth_getLogs per block, decoded and stored like ours."""
    rpc = ChainRPC(node.url)
    began = time.perf_counter()
    for number in range(deployment.deploy_block, head + 1):
        raw = rpc.get_logs(from_block=number, to_block=number, addresses=[deployment.stream_address, deployment.token_address])
        decoded = [e for e in map(chain_events.decode_log, raw) if e is not None]
        if decoded:
            with transaction.atomic():
                indexer._apply_events(rpc=rpc, deployment=deployment, events=decoded)
    return rpc.calls, time.perf_counter() - began


def ours(node, deployment) -> tuple[int, float, list[int]]:
    rpc = ChainRPC(node.url)
    began = time.perf_counter()
    result = indexer.chain_sync(rpc=rpc, chain_id=node.chain_id, confirmations=0)
    assert result.error == "", result.error
    return rpc.calls, time.perf_counter() - began, result.range_sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--empty-blocks-per-event", type=int, default=1)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    node = AnvilNode(Path(os.environ["DATA_DIR"])).start()
    try:
        chain = deploy_chain(node)
        deployment = services.deployment_record(chain_id=node.chain_id, token_address=chain.token.address,
                                                stream_address=chain.streams.address, deploy_block=chain.deploy_block)
        began = time.perf_counter()
        make_events(node, chain, events=args.events, empty_blocks_per_event=args.empty_blocks_per_event)
        head = node.block_number()
        blocks = head - deployment.deploy_block + 1
        print(f"chain: {args.events} Transfer events in {blocks} blocks (made in {time.perf_counter() - began:.1f} s)")

        # Ours first, on a cold process: any warm-up cost counts against us, not the baseline.
        our_calls, our_seconds, ranges = ours(node, deployment)
        our_rows = Payment.objects.count()
        reset(deployment)
        base_calls, base_seconds = block_by_block(node, ChainDeployment.objects.get(), head)
        base_rows = Payment.objects.count()
        assert base_rows == our_rows == args.events, (base_rows, our_rows)

        print(f"block-by-block scan : {base_calls:6d} RPC calls  {base_seconds:7.2f} s  ({base_rows} payments stored)")
        print(f"our indexer         : {our_calls:6d} RPC calls  {our_seconds:7.2f} s  ({our_rows} payments stored; ranges {ranges})")
        call_ratio, time_ratio = base_calls / our_calls, base_seconds / our_seconds
        print(f"ratio               : {call_ratio:.1f}x fewer calls (target >= 20x: {'met' if call_ratio >= 20 else 'NOT met'}), "
              f"{time_ratio:.1f}x faster (target >= 10x: {'met' if time_ratio >= 10 else 'NOT met'})")
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
