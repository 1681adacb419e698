"""Deploy the token and stream contracts with web3.py (the `chain deploy` command calls this)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from web3 import Web3

from integrations.blockchain.artifacts import STREAM, TOKEN, contract_abi, contract_bytecode


@dataclass(frozen=True)
class Deployment:
    token_address: str
    stream_address: str
    deploy_block: int
    deployer: str


def _send(w3: Web3, account, tx) -> dict:
    tx = {**tx, "from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending"), "chainId": w3.eth.chain_id}
    tx.setdefault("gas", w3.eth.estimate_gas(tx))
    fees = w3.eth.fee_history(1, "latest")
    base_fee = fees["baseFeePerGas"][-1]
    tx["maxPriorityFeePerGas"] = w3.to_wei(1, "gwei")
    tx["maxFeePerGas"] = base_fee * 2 + tx["maxPriorityFeePerGas"]
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.to_0x_hex()} reverted")
    return receipt


def deploy_contract(w3: Web3, account, name: str, *args) -> tuple[str, int]:
    contract = w3.eth.contract(abi=contract_abi(name), bytecode=contract_bytecode(name))
    receipt = _send(w3, account, contract.constructor(*args).build_transaction({"from": account.address}))
    return receipt["contractAddress"].lower(), receipt["blockNumber"]


def deploy_contracts(w3: Web3, *, private_key: str, token_name: str = "Flowcast Dollar", token_symbol: str = "FLOW",
                     decimals: int = 18) -> Deployment:
    account = Account.from_key(private_key)
    token_address, token_block = deploy_contract(w3, account, TOKEN, token_name, token_symbol, decimals)
    stream_address, stream_block = deploy_contract(w3, account, STREAM)
    return Deployment(token_address, stream_address, min(token_block, stream_block), account.address.lower())


def has_code(w3: Web3, address: str) -> bool:
    return len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0


def send_transaction(w3: Web3, *, private_key: str, tx: dict) -> dict:
    """Sign and send one transaction; wait for the receipt; raise when it reverted."""
    return _send(w3, Account.from_key(private_key), tx)
