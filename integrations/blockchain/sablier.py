"""Sablier V2 LockupLinear (npm `@sablier/v2-core` 1.2.0): deploy it on a dev chain and read its events.

Pure client functions: the caller passes the artifacts directory (`node_modules/@sablier/v2-core/artifacts`,
see `default_artifacts_dir`), a Web3 and a key; nothing here touches models or settings. The artifacts carry
the creation bytecode with no library links: `SablierV2NFTDescriptor()` first, then
`SablierV2LockupLinear(initialAdmin, nftDescriptor)`.

Event notes for an indexer: `CreateLockupLinearStream` has `streamId` in the data (not a topic) and
`sender`, `recipient`, `asset` as topics; `CancelLockupStream` likewise; `WithdrawFromLockupStream` indexes
`streamId`, `to` and `asset`. Stream NFTs are transferable unless created with `transferable=false`: a
mirror that trusts the recipient of the create event must also follow ERC-721 `Transfer` for transferable ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3

from integrations.blockchain.deploy import send_transaction
from integrations.blockchain.events import LogRef, StreamCancelled, StreamCreated, StreamWithdrawn

LOCKUP_LINEAR = "SablierV2LockupLinear"
NFT_DESCRIPTOR = "SablierV2NFTDescriptor"
STREAM_EVENTS = ("CreateLockupLinearStream", "CancelLockupStream", "WithdrawFromLockupStream")


def default_artifacts_dir(project_root: Path) -> Path:
    return project_root / "node_modules" / "@sablier" / "v2-core" / "artifacts"


@cache
def _artifact(artifacts_dir: Path, name: str) -> dict:
    path = Path(artifacts_dir) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"Sablier artifact {path} is missing: run `npm ci` (package @sablier/v2-core 1.2.0).")
    artifact = json.loads(path.read_text())
    bytecode = artifact.get("bytecode", {})
    if isinstance(bytecode, dict):
        if bytecode.get("linkReferences"):
            raise ValueError(f"{name} needs library links; this module deploys only link-free artifacts (v2-core 1.2.0).")
        bytecode = bytecode.get("object", "")
    return {"abi": artifact["abi"], "bytecode": bytecode}


def contract_abi(artifacts_dir: Path, name: str = LOCKUP_LINEAR) -> list[dict]:
    return _artifact(Path(artifacts_dir), name)["abi"]


def event_abi(artifacts_dir: Path, event: str) -> dict:
    if event not in STREAM_EVENTS:
        raise ValueError(f"{event!r} is not one of the stream events {STREAM_EVENTS}.")
    return next(item for item in contract_abi(artifacts_dir) if item["type"] == "event" and item["name"] == event)


def event_topic(artifacts_dir: Path, event: str) -> str:
    return "0x" + event_abi_to_log_topic(event_abi(artifacts_dir, event)).hex()


def event_abis(artifacts_dir: Path) -> dict[str, dict]:
    """The three stream events by topic0 (hex with 0x), for a getLogs filter and for decoding."""
    return {event_topic(artifacts_dir, name): event_abi(artifacts_dir, name) for name in STREAM_EVENTS}


@dataclass(frozen=True)
class SablierDeployment:
    nft_descriptor_address: str
    lockup_linear_address: str
    deploy_block: int
    admin: str


def _deploy(w3: Web3, *, private_key: str, artifact: dict, args: tuple = ()) -> tuple[str, int]:
    sender = w3.eth.account.from_key(private_key).address
    contract = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = send_transaction(w3, private_key=private_key, tx=contract.constructor(*args).build_transaction({"from": sender}))
    return receipt["contractAddress"].lower(), receipt["blockNumber"]


def deploy_sablier(w3: Web3, *, private_key: str, artifacts_dir: Path, admin: str | None = None) -> SablierDeployment:
    """Deploy the NFT descriptor, then LockupLinear with `admin` (default: the deployer) as its admin."""
    admin = to_checksum_address(admin or w3.eth.account.from_key(private_key).address)
    artifacts_dir = Path(artifacts_dir)
    descriptor_address, descriptor_block = _deploy(w3, private_key=private_key, artifact=_artifact(artifacts_dir, NFT_DESCRIPTOR))
    lockup_address, lockup_block = _deploy(w3, private_key=private_key, artifact=_artifact(artifacts_dir, LOCKUP_LINEAR),
                                           args=(admin, to_checksum_address(descriptor_address)))
    return SablierDeployment(descriptor_address, lockup_address, min(descriptor_block, lockup_block), admin.lower())


def _canonical_type(item: dict) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in item["components"]) + ")" + item["type"][len("tuple"):]
    return item["type"]


def _named(item: dict, value):
    """A decoded tuple as a dict by component name (nested), so `amounts["deposit"]` reads like the ABI."""
    if item["type"] == "tuple":
        return {c["name"]: _named(c, v) for c, v in zip(item["components"], value)}
    if item["type"] == "address":
        return value.lower()
    return value


@dataclass(frozen=True)
class SablierEvent:
    name: str
    args: dict
    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


def _hex(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value if value.startswith("0x") else "0x" + value


def decode_log(artifacts_dir: Path, log: dict) -> SablierEvent | None:
    """One raw log (eth_getLogs / receipt shape) → a SablierEvent, or None for a topic that is not one of ours."""
    topics = [_hex(t) for t in log["topics"]]
    if not topics:
        return None
    abi = event_abis(Path(artifacts_dir)).get(topics[0])
    if abi is None:
        return None
    indexed = [i for i in abi["inputs"] if i["indexed"]]
    plain = [i for i in abi["inputs"] if not i["indexed"]]
    values: dict = {}
    for item, topic in zip(indexed, topics[1:]):
        (values[item["name"]],) = decode([_canonical_type(item)], bytes.fromhex(topic[2:]))
    data = bytes.fromhex(_hex(log["data"])[2:])
    for item, value in zip(plain, decode([_canonical_type(i) for i in plain], data)):
        values[item["name"]] = value
    args = {item["name"]: _named(item, values[item["name"]]) for item in abi["inputs"]}
    return SablierEvent(
        name=abi["name"], args=args, address=str(log["address"]).lower(), block_number=int(log["blockNumber"]),
        block_hash=_hex(log["blockHash"]), tx_hash=_hex(log["transactionHash"]), log_index=int(log["logIndex"]),
    )


def decode_stream_log(artifacts_dir: Path, raw: dict) -> StreamCreated | StreamWithdrawn | StreamCancelled | None:
    """A raw `eth_getLogs` entry of LockupLinear as the indexer's event shapes (`integrations.blockchain.events`),
    or None for a log that is not one of the three stream events. Sablier's cancel pays the sender back
    and leaves the recipient's part in the contract (withdrawn later): `recipient_balance` of the
    StreamCancelled is what stays withdrawable, not a payout."""
    normalized = {**raw, "blockNumber": _int(raw["blockNumber"]), "logIndex": _int(raw["logIndex"])}
    event = decode_log(artifacts_dir, normalized)
    if event is None:
        return None
    ref = LogRef(address=event.address, block_number=event.block_number, block_hash=event.block_hash.lower(),
                 tx_hash=event.tx_hash.lower(), log_index=event.log_index)
    args = event.args
    if event.name == "CreateLockupLinearStream":
        return StreamCreated(ref, args["streamId"], args["sender"], args["recipient"], args["amounts"]["deposit"],
                             args["asset"], args["timestamps"]["start"], args["timestamps"]["end"],
                             transferable=args["transferable"])
    if event.name == "WithdrawFromLockupStream":
        return StreamWithdrawn(ref, args["streamId"], args["to"], args["amount"])
    return StreamCancelled(ref, args["streamId"], args["sender"], args["recipient"], args["senderAmount"], args["recipientAmount"])


def _int(value) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)
