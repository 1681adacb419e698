"""`manage.py chain deploy|sync|status`: deploy our contracts, run the indexer, show its state."""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from web3 import Web3
from web3.exceptions import Web3RPCError

from core.errors import ServiceError
from integrations.blockchain.deploy import deploy_contracts, has_code
from payments import services
from payments.models import ChainDeployment, IndexerCursor


class Command(BaseCommand):
    help = "Deploy the token and stream contracts (deploy), run the event indexer (sync [--follow]), show its state (status)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        deploy = sub.add_parser("deploy", help="deploy FlowToken + PaymentStream to RPC_URL and record their addresses")
        deploy.add_argument("--if-missing", action="store_true", help="do nothing when the recorded contracts still have code on the chain")
        deploy.add_argument("--mint-to", action="append", default=[], metavar="ADDRESS", help="mint test tokens to ADDRESS (repeatable)")
        deploy.add_argument("--mint-amount", type=int, default=10**24, help="base units minted to each --mint-to address")
        sync = sub.add_parser("sync", help="one indexer pass up to the head (or keep following it)")
        sync.add_argument("--follow", action="store_true", help="keep indexing every CHAIN_SYNC_INTERVAL seconds until Ctrl-C")
        sync.add_argument("--confirmations", type=int, default=None)
        sub.add_parser("status", help="the indexer cursor and the recorded contracts")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"handle_{action}")(**options)
        except ServiceError as error:
            raise CommandError(error.message) from None

    def w3(self) -> Web3:
        w3 = Web3(Web3.HTTPProvider(settings.RPC_URL, request_kwargs={"timeout": 10}))
        if not w3.is_connected():
            raise CommandError(f"No chain answers at RPC_URL={settings.RPC_URL}. Start one (make run starts anvil) or set RPC_URL.")
        chain_id = w3.eth.chain_id
        if chain_id != settings.CHAIN_ID:
            raise CommandError(f"The node at {settings.RPC_URL} is chain {chain_id}, but CHAIN_ID is {settings.CHAIN_ID}.")
        return w3

    def handle_deploy(self, *, if_missing, mint_to, mint_amount, **options):
        w3 = self.w3()
        current = ChainDeployment.objects.filter(chain_id=settings.CHAIN_ID).first()
        if if_missing and current and has_code(w3, current.token_address) and has_code(w3, current.stream_address):
            self.stdout.write(f"Contracts already deployed on chain {current.chain_id}: token {current.token_address}, "
                              f"streams {current.stream_address}.")
            return
        if not settings.CHAIN_DEPLOYER_KEY:
            raise CommandError("CHAIN_DEPLOYER_KEY is not set: the key that pays for the deployment.")
        self.stdout.write(f"Deploying to {settings.RPC_URL} (chain {settings.CHAIN_ID}) ...")
        try:
            deployment = deploy_contracts(w3, private_key=settings.CHAIN_DEPLOYER_KEY)
        except (Web3RPCError, ValueError, RuntimeError) as error:
            raise CommandError(f"Deployment failed: {error} (is CHAIN_DEPLOYER_KEY a funded key on this chain?)") from None
        services.deployment_record(
            chain_id=settings.CHAIN_ID, token_address=deployment.token_address, stream_address=deployment.stream_address,
            deploy_block=deployment.deploy_block, deployer=deployment.deployer,
        )
        self.stdout.write(self.style.SUCCESS(
            f"Deployed at block {deployment.deploy_block}: token {deployment.token_address}, streams {deployment.stream_address}."
        ))
        if mint_to:
            from integrations.blockchain.deploy import send_transaction
            from integrations.blockchain.artifacts import TOKEN, contract_abi

            token = w3.eth.contract(address=Web3.to_checksum_address(deployment.token_address), abi=contract_abi(TOKEN))
            for address in mint_to:
                if not Web3.is_address(address):
                    raise CommandError(f"{address!r} is not an address.")
                deployer = Web3.to_checksum_address(deployment.deployer)
                tx = token.functions.mint(Web3.to_checksum_address(address), mint_amount).build_transaction({"from": deployer})
                send_transaction(w3, private_key=settings.CHAIN_DEPLOYER_KEY, tx=tx)
                self.stdout.write(f"Minted {mint_amount} to {address}.")

    def progress(self, result):
        if result.error:
            self.stdout.write(f"  stopped at block {result.to_block} of head {result.head}  ERROR: {result.error}")
        elif result.last_step == "rollback":
            self.stdout.write(f"  {rollback_text(result)}")
        elif result.last_step == "range":
            self.stdout.write(
                f"  blocks {result.from_block}..{result.to_block} of head {result.head}: {plural(result.events, 'event')}, "
                f"{plural(result.new_payments, 'new payment')}, {result.confirmed} confirmed"
            )

    def handle_sync(self, *, follow, confirmations, **options):
        if not follow:
            result = services.chain_sync(confirmations=confirmations, progress=self.progress)
            if result.busy:
                self.stdout.write("Another indexer pass is running; nothing done.")
                return
            if result.error:
                raise CommandError(f"Indexing stopped at block {result.to_block}: {result.error} (the next run resumes there)")
            self.stdout.write(self.style.SUCCESS(sync_summary(result)))
            return
        stop = {"now": False}

        def on_signal(signum, frame):
            stop["now"] = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        self.stdout.write(f"Following chain {settings.CHAIN_ID} at {settings.RPC_URL}; Ctrl-C stops.")
        passes = services.chain_follow(interval=settings.CHAIN_SYNC_INTERVAL, progress=self.progress, should_stop=lambda: stop["now"])
        self.stdout.write(f"Stopped after {passes} passes.")

    def handle_status(self, **options):
        deployment = ChainDeployment.objects.filter(chain_id=settings.CHAIN_ID).first()
        if deployment is None:
            raise CommandError(f"No contracts recorded for chain {settings.CHAIN_ID}: run `manage.py chain deploy`.")
        self.stdout.write(str(deployment))
        for cursor in IndexerCursor.objects.filter(chain_id=settings.CHAIN_ID):
            self.stdout.write(
                f"cursor: block {cursor.last_block}, head {cursor.head_block}, lag {cursor.lag_blocks}, range {cursor.range_size}, "
                f"state {cursor.state}, reorgs {cursor.reorgs_detected}, last error: {cursor.last_error or '-'}"
            )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def rollback_text(result) -> str:
    return (f"reorg: rolled back to block {result.rolled_back_to}, {plural(result.orphaned, 'payment')} orphaned"
            + (f" ({result.reorgs} reorgs)" if result.reorgs > 1 else ""))


def sync_summary(result) -> str:
    """One pass in words: what a reorg undid, then what was indexed (never a backwards block range)."""
    parts = []
    if result.reorgs:
        parts.append(rollback_text(result) + ";")
    # A reorg as the pass's last step leaves nothing indexed above the block it rolled back to.
    if result.ranges and result.to_block >= result.from_block:
        parts.append(
            f"indexed blocks {result.from_block}..{result.to_block} (head {result.head}) in {plural(result.ranges, 'range')} "
            f"and {plural(result.rpc_calls, 'RPC call')}: {plural(result.events, 'event')}, "
            f"{plural(result.new_payments, 'new payment')}, {result.confirmed} confirmed."
        )
    else:
        parts.append(f"up to date at block {result.to_block} (head {result.head}): no new blocks, {result.confirmed} confirmed.")
    text = " ".join(parts)
    return text[0].upper() + text[1:]
