"""The chain indexer: our contracts' events mirrored into Payment and PaymentStream rows.

The indexer (`chain_sync`) reads our contracts' events with `eth_getLogs` over adaptive block
ranges, stores them idempotently (one row per chain id + tx hash + log index), remembers block
hashes to notice reorgs and rolls orphaned rows back, and confirms rows once they are
`CHAIN_CONFIRMATIONS` deep. Signals go out inside the transaction that changes the row and only
on a real state change, so a re-run sends nothing twice and a rolled-back row sends nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.errors import ServiceError
from core.jobs import claim, stale
from integrations.blockchain import events as chain_events
from integrations.blockchain import sablier
from integrations.blockchain.rpc import ChainRPC, RangeTooLarge, RPCError, RPCUnavailable
from payments.models import ChainDeployment, IndexedBlock, IndexerCursor, Payment, PaymentStream
from payments.selectors import deployment_get
from payments.signals import (
    payment_confirmed,
    payment_orphaned,
    stream_cancel_orphaned,
    stream_cancelled,
    stream_created,
    stream_orphaned,
)

log = logging.getLogger(__name__)

MIN_RANGE = 1
# A pass that stops heart-beating for this long is taken over by the next one.
CURSOR_STALE_AFTER = timedelta(minutes=5)
# Block hashes older than this many blocks below the cursor are forgotten (a deeper reorg re-indexes all).
REORG_WINDOW = 1024
# Grow the range while calls return fewer logs than this quickly; shrink when they return more.
GROW_BELOW_LOGS = 2000
SHRINK_ABOVE_LOGS = 10000
GROW_BELOW_SECONDS = 1.0


def chain_rpc() -> ChainRPC:
    return ChainRPC(settings.RPC_URL, retry_attempts=settings.CHAIN_RPC_RETRIES)


@dataclass
class SyncResult:
    chain_id: int
    from_block: int
    to_block: int
    head: int
    rpc_calls: int = 0
    ranges: int = 0
    events: int = 0
    new_payments: int = 0
    confirmed: int = 0
    orphaned: int = 0
    reorgs: int = 0
    rolled_back_to: int | None = None  # the block the last reorg rolled the index back to
    last_step: str = ""  # what `progress` is told about: "range" (indexed one) or "rollback" (undid a reorg)
    busy: bool = False
    error: str = ""
    range_sizes: list[int] = field(default_factory=list)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def chain_sync(
    *,
    rpc: ChainRPC | None = None,
    chain_id: int | None = None,
    confirmations: int | None = None,
    max_range: int | None = None,
    progress: Callable[[SyncResult], None] | None = None,
) -> SyncResult:
    """One indexer pass: from the cursor up to the chain head. Safe to run at any time and any
    number of times; only one pass per cursor runs at once (the others return `busy`)."""
    rpc = rpc or chain_rpc()
    deployment = deployment_get(chain_id=chain_id)
    confirmations = settings.CHAIN_CONFIRMATIONS if confirmations is None else confirmations
    max_range = max_range or settings.CHAIN_MAX_BLOCK_RANGE
    cursor, _ = IndexerCursor.objects.get_or_create(
        chain_id=deployment.chain_id,
        contract_address=deployment.stream_address,
        defaults={"token_address": deployment.token_address, "last_block": deployment.deploy_block - 1},
    )
    result = SyncResult(chain_id=deployment.chain_id, from_block=cursor.last_block + 1, to_block=cursor.last_block, head=-1)
    cursors = IndexerCursor.objects.all()
    claimed = claim(cursors, pk=cursor.pk, from_values=[IndexerCursor.State.IDLE], to_value=IndexerCursor.State.RUNNING)
    if not claimed:
        claimed = claim(
            stale(cursors, values=[IndexerCursor.State.RUNNING], older_than=CURSOR_STALE_AFTER),
            pk=cursor.pk, from_values=[IndexerCursor.State.RUNNING], to_value=IndexerCursor.State.RUNNING,
        )
    if not claimed:
        result.busy = True
        return result
    calls_before = rpc.calls
    try:
        node_chain_id = rpc.chain_id()
        if node_chain_id != deployment.chain_id:
            raise ServiceError(f"The node at {rpc.url} is chain {node_chain_id}, not chain {deployment.chain_id}.")
        _sync_ranges(rpc=rpc, deployment=deployment, cursor_pk=cursor.pk, confirmations=confirmations,
                     max_range=max_range, result=result, progress=progress)
        IndexerCursor.objects.filter(pk=cursor.pk).update(last_error="", attempts=0)
    except (RPCUnavailable, RPCError, ServiceError) as error:
        result.error = str(error)
        IndexerCursor.objects.filter(pk=cursor.pk).update(last_error=result.error[:2000])
        log.warning("chain sync stopped at block %s: %s", result.to_block, error)
    finally:
        IndexerCursor.objects.filter(pk=cursor.pk).update(state=IndexerCursor.State.IDLE, last_run_at=timezone.now())
        result.rpc_calls = rpc.calls - calls_before
    return result


def _sync_ranges(*, rpc, deployment, cursor_pk, confirmations, max_range, result: SyncResult, progress) -> None:
    addresses = [*deployment.stream_contracts, deployment.token_address]
    head = rpc.head()
    result.head = head
    while True:
        cursor = IndexerCursor.objects.get(pk=cursor_pk)
        fork = _find_fork(rpc=rpc, cursor=cursor, deployment=deployment)
        if fork is not None:
            result.orphaned += _rollback(cursor=cursor, fork_block=fork, rpc=rpc)
            result.reorgs += 1
            result.rolled_back_to = fork
            # What this pass indexes now starts above the fork.
            result.from_block, result.to_block = min(result.from_block, fork + 1), fork
            cursor.refresh_from_db()
            # The chain may also have got shorter (a rollback): the head is what the node says now.
            head = rpc.head()
            result.head = head
            result.last_step = "rollback"
            if progress:
                progress(result)
        if cursor.last_block >= head:
            break
        start = cursor.last_block + 1
        end = min(head, start + cursor.range_size - 1)
        # The range end's header first: if a reorg lands between this and the logs, the next
        # pass sees the stored hash differ and re-indexes (never the other way round).
        tip = rpc.header(end)
        if tip is None:  # the chain got shorter under us (a rollback): look again
            head = rpc.head()
            continue
        began = time.monotonic()
        try:
            raw_logs = rpc.get_logs(from_block=start, to_block=end, addresses=addresses)
        except RangeTooLarge:
            if cursor.range_size <= MIN_RANGE:
                raise
            IndexerCursor.objects.filter(pk=cursor_pk).update(range_size=max(MIN_RANGE, cursor.range_size // 2))
            continue
        elapsed = time.monotonic() - began
        decoded = [event for event in (_decode(raw, deployment) for raw in raw_logs) if event is not None]
        with transaction.atomic():
            new_payments = _apply_events(rpc=rpc, deployment=deployment, events=decoded)
            _remember_blocks(chain_id=deployment.chain_id, events=decoded, tip=tip)
            next_range = cursor.range_size
            if len(raw_logs) > SHRINK_ABOVE_LOGS:
                next_range = max(MIN_RANGE, next_range // 2)
            elif len(raw_logs) < GROW_BELOW_LOGS and elapsed < GROW_BELOW_SECONDS and end - start + 1 == cursor.range_size:
                next_range = min(max_range, next_range * 2)
            IndexerCursor.objects.filter(pk=cursor_pk).update(
                last_block=end, last_block_hash=tip.hash, range_size=next_range, head_block=head, heartbeat_at=timezone.now()
            )
            confirmed = _confirm(chain_id=deployment.chain_id, safe_block=min(end, head - confirmations))
        result.to_block = end
        result.ranges += 1
        result.last_step = "range"
        result.range_sizes.append(end - start + 1)
        result.events += len(decoded)
        result.new_payments += new_payments
        result.confirmed += confirmed
        if progress:
            progress(result)
        if end >= head:
            break
    cursor = IndexerCursor.objects.get(pk=cursor_pk)
    with transaction.atomic():
        # Rows already indexed become confirmed as the head moves on, even when no new block came.
        result.confirmed += _confirm(chain_id=deployment.chain_id, safe_block=min(cursor.last_block, head - confirmations))
        IndexerCursor.objects.filter(pk=cursor_pk).update(head_block=head, heartbeat_at=timezone.now())
        IndexedBlock.objects.filter(chain_id=deployment.chain_id, number__lt=cursor.last_block - REORG_WINDOW).delete()


def _decode(raw: dict, deployment: ChainDeployment):
    """One raw log as an event of `integrations.blockchain.events`: Sablier's from its ABI, ours and the token's
    from the fast path."""
    if deployment.sablier_lockup_address and raw["address"].lower() == deployment.sablier_lockup_address:
        try:
            return sablier.decode_stream_log(settings.SABLIER_ARTIFACTS_DIR, raw)
        except FileNotFoundError as error:
            raise ServiceError(f"Cannot read Sablier events: {error}") from None
    return chain_events.decode_log(raw)


def _find_fork(*, rpc: ChainRPC, cursor: IndexerCursor, deployment: ChainDeployment) -> int | None:
    """None when the chain still has the block the cursor stands on; else the newest block we
    stored that the chain still has (the common ancestor), or the block before the deployment."""
    if not cursor.last_block_hash or cursor.last_block < deployment.deploy_block:
        return None
    header = rpc.header(cursor.last_block)
    if header is not None and header.hash == cursor.last_block_hash:
        return None
    for block in IndexedBlock.objects.filter(chain_id=cursor.chain_id, number__lt=cursor.last_block).order_by("-number"):
        header = rpc.header(block.number)
        if header is not None and header.hash == block.hash:
            return block.number
    return deployment.deploy_block - 1


def _rollback(*, cursor: IndexerCursor, fork_block: int, rpc: ChainRPC) -> int:
    """Undo everything indexed above `fork_block` (a reorg replaced those blocks). Returns how
    many payments were orphaned."""
    chain_id = cursor.chain_id
    now = timezone.now()
    with transaction.atomic():
        orphans = list(
            Payment.objects.select_for_update()
            .filter(chain_id=chain_id, block_number__gt=fork_block)
            .exclude(status=Payment.Status.ORPHANED)
        )
        touched_streams = {p.stream_id for p in orphans if p.stream_id}
        Payment.objects.filter(pk__in=[p.pk for p in orphans]).update(status=Payment.Status.ORPHANED, orphaned_at=now)
        for payment in orphans:
            was_confirmed = payment.status == Payment.Status.CONFIRMED
            payment.status, payment.orphaned_at = Payment.Status.ORPHANED, now
            if was_confirmed:
                payment_orphaned.send(sender=Payment, payment=payment)
        # Streams the orphaned blocks created never existed on this chain.
        removed = PaymentStream.objects.filter(chain_id=chain_id, block_number__gt=fork_block)
        for stream in removed.filter(creation_confirmed=True).select_related("sender_user", "recipient_user"):
            stream_orphaned.send(sender=PaymentStream, stream=stream)
        removed.delete()
        uncancelled = PaymentStream.objects.filter(chain_id=chain_id, cancel_block_number__gt=fork_block)
        for stream in uncancelled.filter(cancel_confirmed=True).select_related("sender_user", "recipient_user"):
            stream_cancel_orphaned.send(sender=PaymentStream, stream=stream)
        touched_streams |= set(uncancelled.values_list("pk", flat=True))
        uncancelled.update(
            cancelled=False, cancelled_at=None, cancel_block_number=None, cancel_tx_hash="", cancel_log_index=None,
            cancel_block_hash="", cancel_sender_balance=None, cancel_recipient_balance=None, cancel_confirmed=False,
        )
        for stream in PaymentStream.objects.filter(pk__in=touched_streams):
            _recompute_stream(stream)
        IndexedBlock.objects.filter(chain_id=chain_id, number__gt=fork_block).delete()
        fork_hash = IndexedBlock.objects.filter(chain_id=chain_id, number=fork_block).values_list("hash", flat=True).first()
        if fork_hash is None and fork_block >= 0:
            header = rpc.header(fork_block)
            fork_hash = header.hash if header else ""
        IndexerCursor.objects.filter(pk=cursor.pk).update(
            last_block=fork_block, last_block_hash=fork_hash or "", reorgs_detected=cursor.reorgs_detected + 1
        )
    log.warning("reorg on chain %s: rolled back to block %s, %d payments orphaned", chain_id, fork_block, len(orphans))
    return len(orphans)


def _recompute_stream(stream: PaymentStream) -> None:
    withdrawn = sum(
        stream.payments.filter(kind=Payment.Kind.WITHDRAWAL).exclude(status=Payment.Status.ORPHANED).values_list("amount", flat=True)
    )
    refunded = stream.cancel_sender_balance or 0 if stream.cancelled else 0
    stream.withdrawn = withdrawn
    stream.remaining_balance = stream.deposit - withdrawn - refunded
    stream.save(update_fields=["withdrawn", "remaining_balance", "updated_at"])


def _remember_blocks(*, chain_id: int, events: list, tip) -> None:
    seen = {event.ref.block_number: event.ref.block_hash for event in events}
    seen.pop(tip.number, None)
    IndexedBlock.objects.bulk_create(
        [IndexedBlock(chain_id=chain_id, number=number, hash=block_hash) for number, block_hash in seen.items()],
        ignore_conflicts=True,
    )
    IndexedBlock.objects.update_or_create(
        chain_id=chain_id, number=tip.number,
        defaults={"hash": tip.hash, "parent_hash": tip.parent_hash, "timestamp": tip.timestamp},
    )


def _users_by_wallet(addresses: set[str]) -> dict:
    User = get_user_model()
    return {u.wallet_address: u for u in User.objects.filter(wallet_address__in=addresses - {chain_events.ZERO_ADDRESS})}


def _apply_events(*, rpc: ChainRPC, deployment: ChainDeployment, events: list) -> int:
    """Store one range's events in order. Returns the number of payments added (or revived)."""
    if not events:
        return 0
    chain_id = deployment.chain_id
    existing = {
        (p.tx_hash, p.log_index): p
        for p in Payment.objects.filter(chain_id=chain_id, tx_hash__in={e.ref.tx_hash for e in events})
    }
    users = _users_by_wallet({a for e in events for a in (getattr(e, "sender", ""), getattr(e, "recipient", ""))})
    to_create: list[Payment] = []
    revived = 0
    block_times: dict[int, int] = {}

    def store_payment(event, *, kind, sender, recipient, amount, token, stream=None) -> bool:
        """True when this log is new to us (or comes back after a reorg orphaned it)."""
        nonlocal revived
        key = (event.ref.tx_hash, event.ref.log_index)
        fields = {
            "block_number": event.ref.block_number, "block_hash": event.ref.block_hash,
            "from_address": sender, "to_address": recipient, "token_address": token, "amount": amount, "kind": kind,
            "contract_address": event.ref.address,
            "from_user": users.get(sender), "to_user": users.get(recipient), "stream": stream,
            "stream_id_onchain": stream.stream_id if stream else None,
        }
        current = existing.get(key)
        if current is None:
            payment = Payment(chain_id=chain_id, tx_hash=key[0], log_index=key[1], status=Payment.Status.PENDING, **fields)
            to_create.append(payment)
            existing[key] = payment
            return True
        if current.status == Payment.Status.ORPHANED:
            # The same transaction was mined again on the winning chain: the row comes back, once.
            for name, value in fields.items():
                setattr(current, name, value)
            current.status, current.orphaned_at, current.confirmed_at = Payment.Status.PENDING, None, None
            current.save()
            revived += 1
            return True
        return False

    for event in events:
        if isinstance(event, chain_events.Transfer):
            if event.ref.address != deployment.token_address or event.sender == chain_events.ZERO_ADDRESS:
                continue  # mints are not payments
            if {event.sender, event.recipient} & set(deployment.stream_contracts):
                continue  # deposits into and payouts from streams (ours, Sablier) are mirrored from the stream events
            store_payment(event, kind=Payment.Kind.TRANSFER, sender=event.sender, recipient=event.recipient,
                          amount=event.amount, token=event.ref.address)
        elif event.ref.address not in deployment.stream_contracts:
            continue
        elif isinstance(event, chain_events.StreamCreated):
            if PaymentStream.objects.filter(chain_id=chain_id, contract_address=event.ref.address, stream_id=event.stream_id).exists():
                continue
            duration = event.stop_time - event.start_time
            is_sablier = event.ref.address == deployment.sablier_lockup_address
            PaymentStream.objects.create(
                protocol=PaymentStream.Protocol.SABLIER if is_sablier else PaymentStream.Protocol.FLOWCAST,
                transferable=event.transferable,
                # Ours requires deposit = rate × duration exactly; Sablier's need not divide: rounded down.
                chain_id=chain_id, contract_address=event.ref.address, stream_id=event.stream_id,
                sender=event.sender, recipient=event.recipient, token_address=event.token,
                deposit=event.deposit, rate_per_second=event.deposit // duration,
                start_time=_utc(event.start_time), stop_time=_utc(event.stop_time),
                withdrawn=0, remaining_balance=event.deposit,
                sender_user=users.get(event.sender), recipient_user=users.get(event.recipient),
                tx_hash=event.ref.tx_hash, log_index=event.ref.log_index,
                block_number=event.ref.block_number, block_hash=event.ref.block_hash,
            )
        elif isinstance(event, chain_events.StreamWithdrawn):
            stream = _stream_for(chain_id, event)
            if stream and store_payment(event, kind=Payment.Kind.WITHDRAWAL, sender=stream.sender, recipient=event.recipient,
                                        amount=event.amount, token=stream.token_address, stream=stream):
                stream.withdrawn += event.amount
                stream.remaining_balance -= event.amount
                stream.save(update_fields=["withdrawn", "remaining_balance", "updated_at"])
        elif isinstance(event, chain_events.StreamCancelled):
            stream = _stream_for(chain_id, event)
            if stream is None or stream.cancelled:
                continue
            # Our contract pays the recipient's part out on cancel; Sablier keeps it for a later withdrawal
            # (a WithdrawFromLockupStream of its own).
            pays_out = stream.protocol == PaymentStream.Protocol.FLOWCAST
            if event.recipient_balance and pays_out:
                store_payment(event, kind=Payment.Kind.WITHDRAWAL, sender=stream.sender, recipient=stream.recipient,
                              amount=event.recipient_balance, token=stream.token_address, stream=stream)
            if event.ref.block_number not in block_times:
                header = rpc.header(event.ref.block_number)
                block_times[event.ref.block_number] = header.timestamp if header else int(time.time())
            stream.cancelled = True
            stream.cancelled_at = _utc(block_times[event.ref.block_number])
            stream.cancel_block_number = event.ref.block_number
            stream.cancel_tx_hash = event.ref.tx_hash
            stream.cancel_log_index = event.ref.log_index
            stream.cancel_block_hash = event.ref.block_hash
            stream.cancel_sender_balance = event.sender_balance
            stream.cancel_recipient_balance = event.recipient_balance
            if pays_out:
                stream.withdrawn += event.recipient_balance
                stream.remaining_balance = 0
            else:
                stream.remaining_balance = event.recipient_balance
            stream.save()
    Payment.objects.bulk_create(to_create)
    return len(to_create) + revived


def _stream_for(chain_id: int, event) -> PaymentStream | None:
    stream = PaymentStream.objects.filter(chain_id=chain_id, contract_address=event.ref.address, stream_id=event.stream_id).first()
    if stream is None:
        log.warning("event for unknown stream %s in tx %s", event.stream_id, event.ref.tx_hash)
    return stream


def _confirm(*, chain_id: int, safe_block: int) -> int:
    """Confirm what is now deep enough; one signal per row that changed."""
    now = timezone.now()
    pending = list(
        Payment.objects.select_related("from_user", "to_user", "stream")
        .filter(chain_id=chain_id, status=Payment.Status.PENDING, block_number__lte=safe_block)
        .order_by("block_number", "log_index")
    )
    if pending:
        Payment.objects.filter(pk__in=[p.pk for p in pending], status=Payment.Status.PENDING).update(
            status=Payment.Status.CONFIRMED, confirmed_at=now
        )
        for payment in pending:
            payment.status, payment.confirmed_at = Payment.Status.CONFIRMED, now
            payment_confirmed.send(sender=Payment, payment=payment)
    streams = PaymentStream.objects.filter(chain_id=chain_id)
    for stream in streams.filter(creation_confirmed=False, block_number__lte=safe_block):
        if streams.filter(pk=stream.pk, creation_confirmed=False).update(creation_confirmed=True):
            stream.creation_confirmed = True
            stream_created.send(sender=PaymentStream, stream=stream)
    for stream in streams.filter(cancelled=True, cancel_confirmed=False, cancel_block_number__lte=safe_block):
        if streams.filter(pk=stream.pk, cancel_confirmed=False).update(cancel_confirmed=True):
            stream.cancel_confirmed = True
            stream_cancelled.send(sender=PaymentStream, stream=stream)
    return len(pending)


def chain_follow(*, seconds: float | None = None, interval: float = 2.0, progress=None, should_stop=None) -> int:
    """Run passes every `interval` seconds, for `seconds` (None: until `should_stop()`). Returns passes run."""
    deadline = None if seconds is None else time.monotonic() + seconds
    passes = 0
    while True:
        result = chain_sync(progress=progress)
        passes += 1
        if progress and (result.error or result.busy):
            progress(result)
        if should_stop and should_stop():
            return passes
        if deadline is not None and time.monotonic() + interval >= deadline:
            return passes
        time.sleep(interval)
