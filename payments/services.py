"""Writes of payments: deploying and recording our contracts, minting test tokens, and attaching the
rows the indexer stored for a wallet to the account that links it. The indexer's writes have their
own room (`payments.indexer`)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from core.errors import ServiceError
from integrations.blockchain.deploy import deploy_contracts, has_code, send_transaction
from integrations.blockchain.sablier import deploy_sablier
from payments.models import ChainDeployment, IndexerCursor, Payment, PaymentStream
from payments.selectors import blockchain_data_service

# --- deployment -------------------------------------------------------------------------------


def deployment_record(*, chain_id: int, token_address: str, stream_address: str, deploy_block: int, deployer: str = "",
                      sablier_lockup_address: str = "") -> ChainDeployment:
    """Record (or replace) the contracts of a chain and start its cursor just before them."""
    with transaction.atomic():
        deployment, _ = ChainDeployment.objects.update_or_create(
            chain_id=chain_id,
            defaults={
                "token_address": token_address.lower(),
                "stream_address": stream_address.lower(),
                "deploy_block": deploy_block,
                "deployer": deployer.lower(),
                "sablier_lockup_address": sablier_lockup_address.lower(),
            },
        )
        IndexerCursor.objects.update_or_create(
            chain_id=chain_id,
            contract_address=deployment.stream_address,
            defaults={"token_address": deployment.token_address, "last_block": deploy_block - 1, "last_block_hash": ""},
        )
    return deployment


def _chain_web3() -> Web3:
    """A Web3 on RPC_URL, checked to answer and to be chain CHAIN_ID."""
    w3 = Web3(Web3.HTTPProvider(settings.RPC_URL, request_kwargs={"timeout": 10}))
    if not w3.is_connected():
        raise ServiceError(f"No chain answers at RPC_URL={settings.RPC_URL}. Start one (make run starts anvil) or set RPC_URL.")
    chain_id = w3.eth.chain_id
    if chain_id != settings.CHAIN_ID:
        raise ServiceError(f"The node at {settings.RPC_URL} is chain {chain_id}, but CHAIN_ID is {settings.CHAIN_ID}.")
    return w3


def _sablier_given(w3: Web3) -> str:
    """SABLIER_LOCKUP_LINEAR_ADDRESS checked to be an address with code on this chain ("" when unset)."""
    address = settings.SABLIER_LOCKUP_LINEAR_ADDRESS
    if not address:
        return ""
    if not Web3.is_address(address):
        raise ServiceError(f"SABLIER_LOCKUP_LINEAR_ADDRESS={address!r} is not an address.")
    if not has_code(w3, address):
        raise ServiceError(f"SABLIER_LOCKUP_LINEAR_ADDRESS={address} has no code on chain {settings.CHAIN_ID} at {settings.RPC_URL}.")
    return address.lower()


def chain_deploy(*, if_missing: bool = False, progress: Callable[[str], None] | None = None) -> tuple[ChainDeployment, bool]:
    """Deploy FlowToken, PaymentStream and (unless SABLIER_LOCKUP_LINEAR_ADDRESS names a deployed one)
    Sablier V2 LockupLinear to RPC_URL with CHAIN_DEPLOYER_KEY, and record them.

    Returns (deployment, deployed). With `if_missing`, contracts recorded for CHAIN_ID that still have
    code on the chain are kept (deployed is False). `progress` is told before the deployment starts."""
    w3 = _chain_web3()
    sablier_address = _sablier_given(w3)
    current = ChainDeployment.objects.filter(chain_id=settings.CHAIN_ID).first()
    if (if_missing and current and has_code(w3, current.token_address) and has_code(w3, current.stream_address)
            and current.sablier_lockup_address and has_code(w3, current.sablier_lockup_address)
            and current.sablier_lockup_address == (sablier_address or current.sablier_lockup_address)):
        return current, False
    if not settings.CHAIN_DEPLOYER_KEY:
        raise ServiceError("CHAIN_DEPLOYER_KEY is not set: the key that pays for the deployment.")
    if progress:
        progress(f"Deploying to {settings.RPC_URL} (chain {settings.CHAIN_ID}) ...")
    try:
        deployed = deploy_contracts(w3, private_key=settings.CHAIN_DEPLOYER_KEY)
        deploy_block = deployed.deploy_block
        if not sablier_address:
            sablier = deploy_sablier(w3, private_key=settings.CHAIN_DEPLOYER_KEY, artifacts_dir=settings.SABLIER_ARTIFACTS_DIR)
            sablier_address, deploy_block = sablier.lockup_linear_address, min(deploy_block, sablier.deploy_block)
    except FileNotFoundError as error:
        raise ServiceError(f"{error} Or set SABLIER_LOCKUP_LINEAR_ADDRESS to a deployed LockupLinear.") from None
    except (Web3RPCError, ValueError, RuntimeError) as error:
        raise ServiceError(f"Deployment failed: {error} (is CHAIN_DEPLOYER_KEY a funded key on this chain?)") from None
    deployment = deployment_record(
        chain_id=settings.CHAIN_ID, token_address=deployed.token_address, stream_address=deployed.stream_address,
        deploy_block=deploy_block, deployer=deployed.deployer, sablier_lockup_address=sablier_address,
    )
    return deployment, True


def token_mint(*, to_address: str, amount: int) -> str:
    """Mint `amount` base units of the recorded token to `to_address`, signed with CHAIN_DEPLOYER_KEY
    (the key that deployed the token owns it). Returns the transaction hash."""
    if not Web3.is_address(to_address):
        raise ServiceError(f"{to_address!r} is not an address.", code="invalid_address")
    if not settings.CHAIN_DEPLOYER_KEY:
        raise ServiceError("CHAIN_DEPLOYER_KEY is not set: the key that deployed the token mints it "
                           "(`make run` sets DEBUG=1, which defaults it to anvil's first dev key).")
    service = blockchain_data_service()
    minter = Account.from_key(settings.CHAIN_DEPLOYER_KEY).address
    try:
        owner = service.token.functions.owner().call()
        if owner.lower() != minter.lower():
            raise ServiceError(f"The token's owner is {owner}, but CHAIN_DEPLOYER_KEY is {minter}'s key: it cannot mint.")
        tx = service.token.functions.mint(Web3.to_checksum_address(to_address), amount).build_transaction({"from": minter})
        receipt = send_transaction(service.w3, private_key=settings.CHAIN_DEPLOYER_KEY, tx=tx)
    except (ContractLogicError, Web3RPCError, RuntimeError, ValueError, OSError) as error:
        raise ServiceError(f"Minting failed on the chain at {settings.RPC_URL}: {error}") from None
    return receipt["transactionHash"].to_0x_hex()


# --- wallets ------------------------------------------------------------------------------------


def wallet_rows_link(*, user, address: str) -> None:
    """Attach to `user` the rows the indexer stored for `address` (their newly linked wallet) before
    anyone claimed it, and detach the rows of the wallet they had before."""
    address = address.lower()
    with transaction.atomic():
        Payment.objects.filter(from_user=user).exclude(from_address=address).update(from_user=None)
        Payment.objects.filter(to_user=user).exclude(to_address=address).update(to_user=None)
        PaymentStream.objects.filter(sender_user=user).exclude(sender=address).update(sender_user=None)
        PaymentStream.objects.filter(recipient_user=user).exclude(recipient=address).update(recipient_user=None)
        Payment.objects.filter(from_address=address).update(from_user=user)
        Payment.objects.filter(to_address=address).update(to_user=user)
        PaymentStream.objects.filter(sender=address).update(sender_user=user)
        PaymentStream.objects.filter(recipient=address).update(recipient_user=user)
