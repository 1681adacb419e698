"""Our Solidity contracts: the committed artifacts match a fresh solcjs build, and the stream
contract keeps its rules on a real anvil node."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from web3.exceptions import ContractLogicError

from integrations.blockchain.artifacts import ARTIFACTS_PATH, COMPILE_SCRIPT
from tests.chain_helpers import GAS, deploy_chain
from tests.fixtures.processes import ROOT


def test_committed_artifacts_match_a_fresh_solcjs_build():
    if shutil.which("node") is None or not (ROOT / "node_modules" / "solc").exists():
        pytest.skip("node or node_modules/solc missing: run `npm ci`")
    fresh = subprocess.run(["node", str(COMPILE_SCRIPT)], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120)
    assert json.loads(fresh.stdout) == json.loads(ARTIFACTS_PATH.read_text()), (
        "artifacts are stale: node integrations/blockchain/compile.js > integrations/blockchain/artifacts/contracts.json"
    )


@pytest.fixture(scope="module")
def chain(anvil):
    return deploy_chain(anvil)


def test_stream_rules_and_payouts(chain, anvil_snapshot):
    sender, recipient, stranger = chain.accounts[5:8]
    chain.mint(sender, 10**20)
    now = chain.timestamp()
    chain.wait(chain.token.functions.approve(chain.streams.address, 10**20).transact({"from": sender, "gas": GAS}))
    create = chain.streams.functions.createStream
    for args, reason in [
        ((recipient, 1001, chain.token.address, now + 10, now + 110), "deposit not multiple of time delta"),
        ((recipient, 50, chain.token.address, now + 10, now + 110), "deposit smaller than time delta"),
        ((sender, 1000, chain.token.address, now + 10, now + 110), "stream to the caller"),
        ((recipient, 1000, chain.token.address, now - 10, now + 110), "start time before block.timestamp"),
        ((chain.streams.address, 1000, chain.token.address, now + 10, now + 110), "stream to the contract itself"),
    ]:
        with pytest.raises(ContractLogicError, match=reason):
            create(*args).call({"from": sender})

    stream_id, _ = chain.create_stream(sender, recipient, rate=10, start=now + 10, duration=100)
    assert chain.streams.functions.getStream(stream_id).call()[6] == 1000
    chain.set_next_timestamp(now + 10 + 30)
    chain.mine()
    assert chain.streams.functions.balanceOf(stream_id, recipient).call() == 300
    assert chain.streams.functions.balanceOf(stream_id, sender).call() == 700
    with pytest.raises(ContractLogicError, match="amount exceeds the available balance"):
        chain.streams.functions.withdrawFromStream(stream_id, 301).call({"from": recipient})
    with pytest.raises(ContractLogicError, match="caller is not the sender or the recipient"):
        chain.streams.functions.cancelStream(stream_id).call({"from": stranger})
    recipient_before = chain.token.functions.balanceOf(recipient).call()
    sender_before = chain.token.functions.balanceOf(sender).call()
    chain.set_next_timestamp(now + 10 + 40)
    chain.cancel(recipient, stream_id)
    assert chain.token.functions.balanceOf(recipient).call() - recipient_before == 400
    assert chain.token.functions.balanceOf(sender).call() - sender_before == 600
    # The stream still answers after the cancel (it is never deleted): cancelled, nothing left.
    assert chain.streams.functions.getStream(stream_id).call()[6:] == [0, 10, True]
    with pytest.raises(ContractLogicError, match="stream cancelled"):
        chain.streams.functions.cancelStream(stream_id).call({"from": sender})


def test_only_the_owner_mints(chain, anvil_snapshot):
    with pytest.raises(ContractLogicError, match="only owner"):
        chain.token.functions.mint(chain.accounts[2], 1).call({"from": chain.accounts[2]})
