"""Reads of payments: the recorded contracts, a user's payments and streams, an address's history,
a stream's amounts now, the indexer's cursors, and the one paid-access answer: has this viewer paid
for these terms (`viewer_has_paid`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Case, Max, Q, Value, When
from django.utils import timezone

from core.errors import NotFound, PermissionDenied
from integrations.blockchain.service import BlockchainDataService, streamed_amount
from payments.models import ChainDeployment, IndexerCursor, Payment, PaymentStream
from payments.tokens import TokenMeta, token_amount_format, token_meta_get

# --- deployment -------------------------------------------------------------------------------


def deployment_get(*, chain_id: int | None = None) -> ChainDeployment:
    chain_id = settings.CHAIN_ID if chain_id is None else chain_id
    deployment = ChainDeployment.objects.filter(chain_id=chain_id).first()
    if deployment is None:
        raise NotFound(f"No contracts recorded for chain {chain_id}: run `manage.py chain deploy`.")
    return deployment


def deployment_exists(*, chain_id: int | None = None) -> bool:
    return ChainDeployment.objects.filter(chain_id=settings.CHAIN_ID if chain_id is None else chain_id).exists()


# --- payments, streams, history -----------------------------------------------------------------


def payments_for_user(*, user, status: str | None = None):
    """Payments from or to the user's wallet (those of one `status` when given)."""
    if not user.wallet_address:
        return Payment.objects.none()
    payments = Payment.objects.filter(Q(from_address=user.wallet_address) | Q(to_address=user.wallet_address))
    if status:
        payments = payments.filter(status=status)
    return payments.select_related("stream")


def streams_for_user(*, user):
    if not user.wallet_address:
        return PaymentStream.objects.none()
    return PaymentStream.objects.filter(Q(sender=user.wallet_address) | Q(recipient=user.wallet_address))


def stream_get(*, user, stream_pk: int) -> PaymentStream:
    stream = PaymentStream.objects.filter(pk=stream_pk).first()
    if stream is None:
        raise NotFound("No such stream.")
    if not user.is_staff and user.wallet_address not in (stream.sender, stream.recipient):
        raise PermissionDenied("Only the sender and the recipient may see this stream.")
    return stream


def indexer_cursors(*, chain_id: int | None = None) -> list[IndexerCursor]:
    """The indexer cursors (one per chain and stream contract; those of `chain_id` when given), for status pages."""
    cursors = IndexerCursor.objects.order_by("chain_id", "contract_address")
    return list(cursors if chain_id is None else cursors.filter(chain_id=chain_id))


def indexer_head_block(*, chain_id: int) -> int | None:
    """The chain head the indexer saw last on `chain_id` (None before its first pass; Max skips cursors without one)."""
    return IndexerCursor.objects.filter(chain_id=chain_id).aggregate(head=Max("head_block"))["head"]


def payments_of_address(*, chain_id: int, address: str):
    """Payments from or to `address` in our own index (JSON-RPC has no history call), newest first,
    each with its `direction` ("out" or "in") as seen from the address."""
    address = address.lower()
    return (
        Payment.objects.filter(chain_id=chain_id)
        .filter(Q(from_address=address) | Q(to_address=address))
        .annotate(direction=Case(When(from_address=address, then=Value("out")), default=Value("in")))
        .order_by("-block_number", "-log_index")
    )


def address_history(*, chain_id: int, address: str, offset: int = 0, limit: int = 20) -> list[dict]:
    """A page of `payments_of_address` as plain dicts (for BlockchainDataService.history)."""
    rows = payments_of_address(chain_id=chain_id, address=address)[offset : offset + limit]
    return [
        {
            "tx_hash": p.tx_hash, "log_index": p.log_index, "block_number": p.block_number,
            "from_address": p.from_address, "to_address": p.to_address, "token_address": p.token_address,
            "amount": p.amount, "kind": p.kind, "status": p.status, "direction": p.direction,
        }
        for p in rows
    ]


# --- streams ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamAmounts:
    status: str  # scheduled, streaming, ended, cancelled
    streamed: int  # owed to the recipient so far (withdrawn or not)
    to_stream: int  # still to flow to the recipient (0 once ended or cancelled)
    withdrawable: int  # streamed but not yet withdrawn
    seconds_left: int
    sender_balance: int  # what cancelling now would return to the sender


def stream_amounts(*, stream: PaymentStream, at: datetime | None = None) -> StreamAmounts:
    """A mirrored stream's amounts at `at` (default now), from its rate and times, as the contract computes them."""
    at = at or timezone.now()
    if stream.cancelled:
        # The recipient's part at the cancel: ours pays it out at once, Sablier keeps it withdrawable.
        streamed = int(stream.deposit) - int(stream.cancel_sender_balance or 0)
        return StreamAmounts(status="cancelled", streamed=streamed, to_stream=0, withdrawable=max(streamed - int(stream.withdrawn), 0),
                             seconds_left=0, sender_balance=0)
    streamed = streamed_amount(deposit=int(stream.deposit), rate_per_second=int(stream.rate_per_second),
                               start_time=int(stream.start_time.timestamp()), stop_time=int(stream.stop_time.timestamp()),
                               at=int(at.timestamp()))
    status = "scheduled" if at < stream.start_time else "ended" if at >= stream.stop_time else "streaming"
    seconds_left = 0 if status == "ended" else int((stream.stop_time - max(at, stream.start_time)).total_seconds())
    withdrawable = max(streamed - int(stream.withdrawn), 0)
    return StreamAmounts(status=status, streamed=streamed, to_stream=int(stream.deposit) - streamed,
                         withdrawable=withdrawable, seconds_left=seconds_left,
                         sender_balance=int(stream.remaining_balance) - withdrawable)


def stream_is_active(stream: PaymentStream, *, at: datetime | None = None) -> bool:
    at = at or timezone.now()
    return stream.creation_confirmed and not stream.cancelled and stream.start_time <= at < stream.stop_time


# --- paid access --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaidTerms:
    """What a creator asks: a one-off payment of at least `price`, or a stream of at least
    `stream_rate` per second (base units; None: that way is not offered), to `creator_wallet`,
    in `token_address` (None: the token of the contracts recorded for CHAIN_ID)."""

    creator_wallet: str
    price: int | None
    stream_rate: int | None
    token_address: str | None = None


def viewer_has_paid(*, viewer, terms: PaidTerms) -> bool:
    """Whether `viewer` (a user, anonymous or None) has paid for `terms` from the wallet linked to their
    account: a confirmed transfer of at least the price to the creator's wallet, or a confirmed,
    running, uncancelled stream to it at at least the stream rate (ours or Sablier's, whose rate is the
    deposit ÷ duration rounded down; a transferable Sablier stream can be moved off the creator, so it never
    counts), on CHAIN_ID in the terms' token
    (a transfer of a token from an earlier deployment does not count). Who may watch what is the
    media access rule's business; this answers only the payment question."""
    if viewer is None or not viewer.is_authenticated or not viewer.wallet_address or not terms.creator_wallet:
        return False
    token_address = terms.token_address
    if token_address is None:
        deployment = ChainDeployment.objects.filter(chain_id=settings.CHAIN_ID).first()
        if deployment is None:
            return False
        token_address = deployment.token_address
    payer, creator = viewer.wallet_address.lower(), terms.creator_wallet.lower()
    if terms.price is not None:
        paid = Payment.objects.filter(
            chain_id=settings.CHAIN_ID, token_address=token_address.lower(),
            status=Payment.Status.CONFIRMED, kind=Payment.Kind.TRANSFER,
            from_address=payer, to_address=creator, amount__gte=terms.price,
        )
        if paid.exists():
            return True
    if terms.stream_rate is not None:
        now = timezone.now()
        streaming = PaymentStream.objects.filter(
            chain_id=settings.CHAIN_ID, token_address=token_address.lower(), sender=payer, recipient=creator,
            rate_per_second__gte=terms.stream_rate, creation_confirmed=True, cancelled=False, transferable=False,
            start_time__lte=now, stop_time__gt=now,
        )
        if streaming.exists():
            return True
    return False


def blockchain_data_service(*, rpc_url: str | None = None):
    """The `BlockchainDataService` wired to our settings, recorded contracts and index."""
    deployment = deployment_get()
    return BlockchainDataService(
        rpc_url=rpc_url or settings.RPC_URL,
        token_address=deployment.token_address,
        stream_address=deployment.stream_address,
        history_source=lambda address, offset, limit: address_history(
            chain_id=deployment.chain_id, address=address, offset=offset, limit=limit
        ),
    )


@dataclass(frozen=True)
class WalletBalances:
    address: str
    chain_id: int
    token_address: str
    token_symbol: str
    token_decimals: int
    token_balance: int  # base units
    native_balance: int  # wei


def wallet_balances(*, address: str) -> WalletBalances:
    """A wallet's balances of our token and of the chain's coin, read from the chain now (OSError: no node)."""
    chain = blockchain_data_service()
    return WalletBalances(
        address=address, chain_id=settings.CHAIN_ID, token_address=chain.token.address.lower(),
        token_symbol=chain.token_symbol(), token_decimals=chain.token_decimals(),
        token_balance=chain.token_balance(address), native_balance=chain.native_balance(address),
    )
