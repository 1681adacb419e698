"""The chain's part of `/api/health`, registered in `PaymentsConfig.ready()`."""

from __future__ import annotations

import httpx
from django.conf import settings

from core.health import timed


@timed
def check_chain():
    """`RPC_URL` answers, on the chain `CHAIN_ID` names; its block height."""
    rpc_url, expected_chain_id = settings.RPC_URL, settings.CHAIN_ID
    calls = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
    ]
    response = httpx.post(rpc_url, json=calls, timeout=settings.HEALTH_CHECK_TIMEOUT)
    response.raise_for_status()
    answers = {item["id"]: item for item in response.json()}
    if "error" in answers[1]:
        return False, f"eth_chainId failed: {answers[1]['error']}"
    chain_id = int(answers[1]["result"], 16)
    block = int(answers[2]["result"], 16)
    if chain_id != expected_chain_id:
        return False, f"{rpc_url} is chain {chain_id}, settings expect CHAIN_ID={expected_chain_id}"
    return True, f"chain {chain_id} at block {block} ({rpc_url})"
