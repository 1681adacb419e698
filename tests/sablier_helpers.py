"""Sablier V2 LockupLinear (the real protocol, from node_modules) on a test's anvil, beside our dev token."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from integrations.blockchain.sablier import LOCKUP_LINEAR, contract_abi, default_artifacts_dir, deploy_sablier
from tests.chain_helpers import GAS, Chain
from tests.fixtures.processes import ROOT, missing_part

SABLIER_ARTIFACTS = default_artifacts_dir(ROOT)
ZERO_ADDRESS = "0x" + "0" * 40


def require_sablier_artifacts() -> None:
    if not (SABLIER_ARTIFACTS / f"{LOCKUP_LINEAR}.json").exists():
        missing_part(f"{SABLIER_ARTIFACTS} is missing", part="sablier", install="npm ci")


@dataclass
class Sablier:
    chain: Chain
    lockup: object
    artifacts_dir: object
    deploy_block: int

    def create_with_durations(self, sender: str, recipient: str, *, deposit: int, duration: int,
                              cancelable: bool = True, transferable: bool = False) -> dict:
        self.chain.wait(self.chain.token.functions.approve(self.lockup.address, deposit).transact({"from": sender, "gas": GAS}))
        params = (sender, recipient, deposit, self.chain.token.address, cancelable, transferable, (0, duration), (ZERO_ADDRESS, 0))
        tx = self.lockup.functions.createWithDurations(params).transact({"from": sender, "gas": 1_000_000})
        return self.chain.wait(tx)


def deploy_sablier_on(chain: Chain) -> Sablier:
    require_sablier_artifacts()
    deployment = deploy_sablier(chain.w3, private_key=chain.node.private_keys[0], artifacts_dir=SABLIER_ARTIFACTS)
    lockup = chain.w3.eth.contract(address=Web3.to_checksum_address(deployment.lockup_linear_address),
                                   abi=contract_abi(SABLIER_ARTIFACTS))
    return Sablier(chain=chain, lockup=lockup, artifacts_dir=SABLIER_ARTIFACTS, deploy_block=deployment.deploy_block)

