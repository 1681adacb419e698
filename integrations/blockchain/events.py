"""Decode raw logs of our two contracts into plain dataclasses (fast path: eth_abi on topics + data,
about 25x cheaper than web3's contract-event API). Imports no models."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode

from integrations.blockchain.artifacts import STREAM, TOKEN, event_topic

TRANSFER_TOPIC = event_topic(TOKEN, "Transfer")
CREATE_STREAM_TOPIC = event_topic(STREAM, "CreateStream")
WITHDRAW_TOPIC = event_topic(STREAM, "WithdrawFromStream")
CANCEL_STREAM_TOPIC = event_topic(STREAM, "CancelStream")
ZERO_ADDRESS = "0x" + "0" * 40


@dataclass(frozen=True)
class LogRef:
    """Where an event happened; (tx_hash, log_index) is unique per chain."""

    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


def chain_event_key(
    *, chain_id: int, contract_address: str, tx_hash: str, log_index: int | None, block_hash: str
) -> str:
    """The one name of one log on one chain, for outbox keys (emails, and webhooks when they come).

    Every part counts: stream ids restart at 1 on a new contract and on the winning side of a reorg,
    so the contract and the transaction tell two "stream #1" apart; a fresh dev chain with the same
    deployer key repeats transaction hashes and contract addresses; and the block hash makes the same
    transaction re-mined in another block after a reorg a new event (the old one was orphaned, and its
    emails cancelled or corrected), while a re-run over the same block names the same event again.
    """
    return ":".join([
        str(int(chain_id)), contract_address.lower(), tx_hash.lower(), "" if log_index is None else str(int(log_index)),
        block_hash.lower(),
    ])


@dataclass(frozen=True)
class Transfer:
    ref: LogRef
    sender: str
    recipient: str
    amount: int


@dataclass(frozen=True)
class StreamCreated:
    ref: LogRef
    stream_id: int
    sender: str
    recipient: str
    deposit: int
    token: str
    start_time: int
    stop_time: int
    # Sablier streams are ERC-721s that may be transferable; ours never are.
    transferable: bool = False


@dataclass(frozen=True)
class StreamWithdrawn:
    ref: LogRef
    stream_id: int
    recipient: str
    amount: int


@dataclass(frozen=True)
class StreamCancelled:
    ref: LogRef
    stream_id: int
    sender: str
    recipient: str
    sender_balance: int
    recipient_balance: int


Event = Transfer | StreamCreated | StreamWithdrawn | StreamCancelled


def _topic_address(topic: str) -> str:
    return "0x" + topic[-40:].lower()


def _topic_int(topic: str) -> int:
    return int(topic, 16)


def _data(raw: str) -> bytes:
    return bytes.fromhex(raw[2:])


def decode_log(raw: dict) -> Event | None:
    """The event in a raw `eth_getLogs` entry, or None for one we do not index."""
    topics = raw["topics"]
    if not topics:
        return None
    ref = LogRef(
        address=raw["address"].lower(),
        block_number=int(raw["blockNumber"], 16),
        block_hash=raw["blockHash"].lower(),
        tx_hash=raw["transactionHash"].lower(),
        log_index=int(raw["logIndex"], 16),
    )
    topic0 = topics[0].lower()
    if topic0 == TRANSFER_TOPIC and len(topics) == 3:
        (amount,) = decode(["uint256"], _data(raw["data"]))
        return Transfer(ref, _topic_address(topics[1]), _topic_address(topics[2]), amount)
    if topic0 == CREATE_STREAM_TOPIC:
        deposit, token, start, stop = decode(["uint256", "address", "uint256", "uint256"], _data(raw["data"]))
        return StreamCreated(
            ref, _topic_int(topics[1]), _topic_address(topics[2]), _topic_address(topics[3]), deposit, token.lower(), start, stop
        )
    if topic0 == WITHDRAW_TOPIC:
        (amount,) = decode(["uint256"], _data(raw["data"]))
        return StreamWithdrawn(ref, _topic_int(topics[1]), _topic_address(topics[2]), amount)
    if topic0 == CANCEL_STREAM_TOPIC:
        sender_balance, recipient_balance = decode(["uint256", "uint256"], _data(raw["data"]))
        return StreamCancelled(
            ref, _topic_int(topics[1]), _topic_address(topics[2]), _topic_address(topics[3]), sender_balance, recipient_balance
        )
    return None
