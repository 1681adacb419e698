"""The real Sablier V2 LockupLinear (npm @sablier/v2-core 1.2.0) deploys on anvil with our client function,
takes a stream of our dev token, and its events decode with integrations.blockchain.sablier."""

from __future__ import annotations

import pytest
from web3 import Web3

from integrations.blockchain.sablier import STREAM_EVENTS, decode_log, event_abis, event_topic
from tests.chain_helpers import deploy_chain
from tests.sablier_helpers import SABLIER_ARTIFACTS, deploy_sablier_on


@pytest.fixture(scope="module")
def sablier(anvil):
    return deploy_sablier_on(deploy_chain(anvil))


def test_deploys_with_the_deployer_as_admin_and_the_descriptor_linked(sablier):
    lockup = sablier.lockup
    chain = sablier.chain
    assert len(chain.w3.eth.get_code(lockup.address)) > 18_000  # LockupLinear's runtime code is ~18.3 kB
    assert lockup.functions.admin().call() == chain.accounts[0]
    assert chain.w3.eth.get_code(lockup.functions.nftDescriptor().call())
    assert lockup.functions.nextStreamId().call() == 1


def test_a_stream_created_with_durations_is_on_chain_and_its_events_decode(sablier, anvil_snapshot):
    chain, lockup = sablier.chain, sablier.lockup
    viewer, creator = chain.accounts[3], chain.accounts[4]
    rate, duration = 7, 3600
    chain.mint(viewer, rate * duration * 2)
    receipt = sablier.create_with_durations(viewer, creator, deposit=rate * duration, duration=duration)

    created = [e for e in (decode_log(SABLIER_ARTIFACTS, log) for log in receipt["logs"]) if e and e.name == "CreateLockupLinearStream"]
    assert len(created) == 1
    event = created[0]
    stream_id = event.args["streamId"]
    assert event.address == lockup.address.lower()
    assert event.args["sender"] == viewer.lower() and event.args["recipient"] == creator.lower()
    assert event.args["asset"] == chain.token.address.lower()
    assert event.args["amounts"] == {"deposit": rate * duration, "brokerFee": 0}
    timestamps = event.args["timestamps"]
    assert timestamps["end"] - timestamps["start"] == duration and timestamps["cliff"] == 0
    assert event.args["transferable"] is False and event.args["cancelable"] is True
    # The contract agrees with the decoded event.
    stream = lockup.functions.getStream(stream_id).call()
    assert stream[0] == viewer and stream[1] == creator and stream[10][0] == rate * duration

    # Withdraw part, then cancel: the other two events, read back with eth_getLogs over the contract's range.
    chain.w3.provider.make_request("evm_increaseTime", [100])
    chain.mine()
    withdrawable = lockup.functions.withdrawableAmountOf(stream_id).call()
    assert withdrawable > 0
    chain.wait(lockup.functions.withdraw(stream_id, creator, withdrawable).transact({"from": creator, "gas": 500_000}))
    chain.wait(lockup.functions.cancel(stream_id).transact({"from": viewer, "gas": 500_000}))

    logs = chain.w3.eth.get_logs({"address": lockup.address, "fromBlock": sablier.deploy_block, "toBlock": "latest",
                                  "topics": [list(event_abis(SABLIER_ARTIFACTS))]})
    decoded = [decode_log(SABLIER_ARTIFACTS, log) for log in logs]
    assert [e.name for e in decoded] == ["CreateLockupLinearStream", "WithdrawFromLockupStream", "CancelLockupStream"]
    assert set(STREAM_EVENTS) == {e.name for e in decoded}
    withdraw, cancel = decoded[1], decoded[2]
    assert withdraw.args == {"streamId": stream_id, "to": creator.lower(), "asset": chain.token.address.lower(), "amount": withdrawable}
    assert cancel.args["streamId"] == stream_id and cancel.args["sender"] == viewer.lower()
    assert cancel.args["senderAmount"] + cancel.args["recipientAmount"] == rate * duration - withdrawable
    assert lockup.functions.wasCanceled(stream_id).call() is True
    # Every decoded event names the block it came from (an indexer compares hashes to see reorgs).
    assert all(e.block_hash == chain.w3.eth.get_block(e.block_number)["hash"].to_0x_hex() for e in decoded)


def test_decode_log_ignores_other_topics_and_rejects_unknown_event_names(sablier):
    token_transfer_topic = Web3.keccak(text="Transfer(address,address,uint256)").to_0x_hex()
    assert decode_log(SABLIER_ARTIFACTS, {"topics": [token_transfer_topic], "data": "0x"}) is None
    assert event_topic(SABLIER_ARTIFACTS, "CancelLockupStream").startswith("0x")
    with pytest.raises(ValueError):
        event_topic(SABLIER_ARTIFACTS, "Approval")
