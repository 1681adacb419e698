"""`manage.py chain deploy|sync|status`: deploy our contracts, run the indexer, show its state."""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import ServiceError
from payments import indexer, selectors, services


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

    def handle_deploy(self, *, if_missing, mint_to, mint_amount, **options):
        deployment, deployed = services.chain_deploy(if_missing=if_missing, progress=self.stdout.write)
        if not deployed:
            self.stdout.write(f"Contracts already deployed on chain {deployment.chain_id}: token {deployment.token_address}, "
                              f"streams {deployment.stream_address}, Sablier LockupLinear {deployment.sablier_lockup_address or '-'}.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Deployed at block {deployment.deploy_block}: token {deployment.token_address}, streams {deployment.stream_address}, "
            f"Sablier LockupLinear {deployment.sablier_lockup_address}."
        ))
        for address in mint_to:
            services.token_mint(to_address=address, amount=mint_amount)
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
            result = indexer.chain_sync(confirmations=confirmations, progress=self.progress)
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
        passes = indexer.chain_follow(interval=settings.CHAIN_SYNC_INTERVAL, progress=self.progress, should_stop=lambda: stop["now"])
        self.stdout.write(f"Stopped after {passes} passes.")

    def handle_status(self, **options):
        self.stdout.write(str(selectors.deployment_get()))
        for cursor in selectors.indexer_cursors(chain_id=settings.CHAIN_ID):
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
