"""The compiled contracts (ABI + bytecode) committed in `artifacts/contracts.json`.

Rebuild with `node integrations/blockchain/compile.js > integrations/blockchain/artifacts/contracts.json`
(solcjs from node_modules, evmVersion cancun); a test recompiles and compares.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from eth_utils import event_abi_to_log_topic

ARTIFACTS_PATH = Path(__file__).resolve().parent / "artifacts" / "contracts.json"
COMPILE_SCRIPT = Path(__file__).resolve().parent / "compile.js"


@cache
def load_artifacts() -> dict:
    return json.loads(ARTIFACTS_PATH.read_text())


def contract_abi(name: str) -> list[dict]:
    return load_artifacts()["contracts"][name]["abi"]


def contract_bytecode(name: str) -> str:
    return load_artifacts()["contracts"][name]["bytecode"]


def event_abi(contract: str, event: str) -> dict:
    return next(item for item in contract_abi(contract) if item["type"] == "event" and item["name"] == event)


def event_topic(contract: str, event: str) -> str:
    return "0x" + event_abi_to_log_topic(event_abi(contract, event)).hex()


TOKEN = "FlowToken"
STREAM = "PaymentStream"
