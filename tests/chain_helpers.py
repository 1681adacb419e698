"""Drive our compiled contracts on a real anvil node from tests and benchmarks."""

from __future__ import annotations

import time
from dataclasses import dataclass

from web3 import Web3
from web3.logs import DISCARD

from integrations.blockchain.artifacts import STREAM, TOKEN, contract_abi
from integrations.blockchain.deploy import deploy_contracts

# Fixed gas: estimating would run at the current time, not the time set for the next block.
GAS = 500_000


@dataclass
class Chain:
    node: object
    w3: Web3
    token: object
    streams: object
    deploy_block: int

    @property
    def accounts(self) -> list[str]:
        return self.w3.eth.accounts

    def wait(self, tx_hash):
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, f"transaction reverted: {receipt}"
        return receipt

    def mint(self, to: str, amount: int):
        return self.wait(self.token.functions.mint(to, amount).transact({"from": self.accounts[0], "gas": GAS}))

    def transfer(self, sender: str, to: str, amount: int):
        return self.wait(self.token.functions.transfer(to, amount).transact({"from": sender, "gas": GAS}))

    def signed_transfer(self, private_key: str, to: str, amount: int) -> bytes:
        """A signed raw transfer, to send (and, after a revert, send again: same hash) with `send_raw`."""
        sender = self.w3.eth.account.from_key(private_key).address
        tx = self.token.functions.transfer(to, amount).build_transaction({
            "from": sender, "gas": GAS, "nonce": self.w3.eth.get_transaction_count(sender),
            "maxFeePerGas": 100 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": self.w3.eth.chain_id,
        })
        return self.w3.eth.account.sign_transaction(tx, private_key).raw_transaction

    def send_raw(self, raw: bytes):
        return self.wait(self.w3.eth.send_raw_transaction(raw))

    def timestamp(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def set_next_timestamp(self, ts: int) -> None:
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [ts])

    def create_stream(self, sender: str, recipient: str, *, rate: int, start: int, duration: int) -> tuple[int, dict]:
        deposit = rate * duration
        self.wait(self.token.functions.approve(self.streams.address, deposit).transact({"from": sender, "gas": GAS}))
        receipt = self.wait(
            self.streams.functions.createStream(recipient, deposit, self.token.address, start, start + duration).transact({"from": sender, "gas": GAS})
        )
        (event,) = self.streams.events.CreateStream().process_receipt(receipt, errors=DISCARD)
        return event["args"]["streamId"], receipt

    def withdraw(self, caller: str, stream_id: int, amount: int):
        return self.wait(self.streams.functions.withdrawFromStream(stream_id, amount).transact({"from": caller, "gas": GAS}))

    def cancel(self, caller: str, stream_id: int):
        return self.wait(self.streams.functions.cancelStream(stream_id).transact({"from": caller, "gas": GAS}))

    def mine(self, blocks: int = 1):
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])


def deploy_chain(node, *, private_key: str | None = None) -> Chain:
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    deployment = deploy_contracts(w3, private_key=private_key or node.private_keys[0])
    token = w3.eth.contract(address=Web3.to_checksum_address(deployment.token_address), abi=contract_abi(TOKEN))
    streams = w3.eth.contract(address=Web3.to_checksum_address(deployment.stream_address), abi=contract_abi(STREAM))
    return Chain(node=node, w3=w3, token=token, streams=streams, deploy_block=deployment.deploy_block)


def attach_chain(node, chain: Chain) -> Chain:
    """The same contracts through a new connection (after a node restart)."""
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    return Chain(node=node, w3=w3, token=w3.eth.contract(address=chain.token.address, abi=contract_abi(TOKEN)),
                 streams=w3.eth.contract(address=chain.streams.address, abi=contract_abi(STREAM)), deploy_block=chain.deploy_block)


def chain_at(node, *, token_address: str, stream_address: str, deploy_block: int = 0) -> Chain:
    """Contracts someone else deployed (e.g. `manage.py chain deploy`)."""
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    return Chain(node=node, w3=w3,
                 token=w3.eth.contract(address=Web3.to_checksum_address(token_address), abi=contract_abi(TOKEN)),
                 streams=w3.eth.contract(address=Web3.to_checksum_address(stream_address), abi=contract_abi(STREAM)),
                 deploy_block=deploy_block)


def deploy_recorded_chain_an_hour_behind(anvil_factory, settings) -> Chain:
    """A fresh anvil whose clock runs an hour behind the wall clock, with our contracts deployed
    and recorded as the configured chain (RPC_URL, CHAIN_ID) and its deployment: a two-hour stream opened now (chain time)
    is running now (wall clock), and one fully mined "an hour ago" has ended, without waiting."""
    from payments import services

    node = anvil_factory(extra_args=("--timestamp", str(int(time.time()) - 3600)))
    settings.CHAIN_ID, settings.RPC_URL = node.chain_id, node.url
    chain = deploy_chain(node)
    services.deployment_record(chain_id=node.chain_id, token_address=chain.token.address,
                               stream_address=chain.streams.address, deploy_block=chain.deploy_block)
    return chain
