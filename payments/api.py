"""Payments API (mounted at /api/payments): my wallet, my payments and streams, stream detail with
the live streamed amount, an address's history, the indexer's progress. Token amounts are strings
of base units (they exceed JavaScript's safe integers)."""


from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from accounts.auth import require_staff, user_auth
from accounts.models import wallet_address_validator
from core.errors import ServiceError
from core.schemas import ErrorOut
from payments import selectors
from payments.models import PaymentStream

router = Router(tags=["payments"], auth=user_auth)
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 503: ErrorOut}


class ChainUnavailable(ServiceError):
    status = 503
    code = "chain_unavailable"


class PaymentOut(Schema):
    id: int
    chain_id: int
    tx_hash: str
    log_index: int
    block_number: int
    from_address: str
    to_address: str
    token_address: str
    amount: str
    kind: str
    status: str
    stream_id: int | None = Field(None, alias="stream_id_onchain")
    confirmed_at: datetime | None

    @staticmethod
    def resolve_amount(obj):
        return str(obj.amount)


class StreamOut(Schema):
    id: int
    chain_id: int
    stream_id: int
    sender: str
    recipient: str
    token_address: str
    deposit: str
    rate_per_second: str
    start_time: datetime
    stop_time: datetime
    withdrawn: str
    remaining_balance: str
    cancelled: bool
    cancelled_at: datetime | None
    confirmed: bool = Field(..., alias="creation_confirmed")

    @staticmethod
    def resolve_deposit(obj):
        return str(obj.deposit)

    @staticmethod
    def resolve_rate_per_second(obj):
        return str(obj.rate_per_second)

    @staticmethod
    def resolve_withdrawn(obj):
        return str(obj.withdrawn)

    @staticmethod
    def resolve_remaining_balance(obj):
        return str(obj.remaining_balance)


@dataclass(frozen=True)
class StreamAt:
    """A stream and its amounts at one instant, as StreamDetailOut reads them (the row itself is not changed)."""

    stream: PaymentStream
    amounts: selectors.StreamAmounts
    at: datetime

    def __getattr__(self, name):  # the stream's own fields
        return getattr(self.stream, name)


class StreamDetailOut(StreamOut):
    status: str = Field(..., description="scheduled | streaming | ended | cancelled")
    seconds_left: int = Field(..., description="until the stream runs dry (0 once ended or cancelled)")
    at: datetime
    streamed: str
    recipient_balance: str
    sender_balance: str

    @staticmethod
    def resolve_status(obj: StreamAt):
        return obj.amounts.status

    @staticmethod
    def resolve_seconds_left(obj: StreamAt):
        return obj.amounts.seconds_left

    @staticmethod
    def resolve_streamed(obj: StreamAt):
        return str(obj.amounts.streamed)

    @staticmethod
    def resolve_recipient_balance(obj: StreamAt):
        return str(obj.amounts.withdrawable)

    @staticmethod
    def resolve_sender_balance(obj: StreamAt):
        return str(obj.amounts.sender_balance)


class WalletOut(Schema):
    address: str
    chain_id: int
    token_address: str
    token_symbol: str
    token_decimals: int
    token_balance: str
    native_balance: str


class HistoryItemOut(PaymentOut):
    direction: str


class IndexerStatusOut(Schema):
    chain_id: int
    contract_address: str
    token_address: str
    last_block: int = Field(..., description="highest block fully indexed")
    head_block: int | None
    lag_blocks: int | None
    range_size: int
    state: str
    reorgs_detected: int
    last_error: str
    last_run_at: datetime | None
    heartbeat_at: datetime | None


@router.get("/wallet", response={200: WalletOut, **ERRORS})
def my_wallet(request):
    """Token and native balances of my linked wallet, read from the chain now."""
    if not request.user.wallet_address:
        raise ServiceError("Link a wallet first (Sign-In with Ethereum).", code="no_wallet")
    try:
        wallet = selectors.wallet_balances(address=request.user.wallet_address)
    except OSError as error:  # requests' connection errors and timeouts are OSErrors
        raise ChainUnavailable(f"The chain node at {settings.RPC_URL} does not answer.") from error
    return {
        "address": wallet.address, "chain_id": wallet.chain_id, "token_address": wallet.token_address,
        "token_symbol": wallet.token_symbol, "token_decimals": wallet.token_decimals,
        "token_balance": str(wallet.token_balance), "native_balance": str(wallet.native_balance),
    }


@router.get("/mine", response=list[PaymentOut])
@paginate
def my_payments(request, status: Literal["pending", "confirmed", "orphaned"] | None = None):
    """Payments from or to my wallet, newest first."""
    return selectors.payments_for_user(user=request.user, status=status)


@router.get("/streams", response=list[StreamOut])
@paginate
def my_streams(request):
    """Streams I send or receive, newest first."""
    return selectors.streams_for_user(user=request.user)


@router.get("/streams/{stream_pk}", response={200: StreamDetailOut, **ERRORS})
def stream_detail(request, stream_pk: int):
    """A stream with the amount streamed so far (computed now from the mirrored events)."""
    stream = selectors.stream_get(user=request.user, stream_pk=stream_pk)
    at = timezone.now()
    return StreamAt(stream=stream, amounts=selectors.stream_amounts(stream=stream, at=at), at=at)


@router.get("/history/{address}", response={200: list[HistoryItemOut], **ERRORS})
@paginate
def address_history(request, address: str):
    """Token payments from or to any address, from our own index, newest first."""
    try:
        wallet_address_validator(address)
    except ValidationError:
        raise ServiceError("address must be 0x followed by 40 hexadecimal digits.", code="invalid_address") from None
    return selectors.payments_of_address(chain_id=settings.CHAIN_ID, address=address)


@router.get("/indexer", response={200: list[IndexerStatusOut], **ERRORS})
def indexer_status(request):
    """Staff only: how far the chain indexer has read, per chain and contract (last block, head, lag), and its last error."""
    require_staff(request)
    return selectors.indexer_cursors()
