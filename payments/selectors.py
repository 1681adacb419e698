"""Reads of payments: what a viewer has paid for."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from payments.models import ChainDeployment, Payment, PaymentStream


@dataclass(frozen=True)
class PaidTerms:
    """What unlocks something for sale: a one-off payment of at least `price`, or a running stream of at least
    `stream_rate` per second, to `creator_wallet`, in `token_address` (None: the token of this chain's deployment).
    Amounts are token base units; a term that is None is not offered."""

    creator_wallet: str
    price: int | None
    stream_rate: int | None
    token_address: str | None = None


def viewer_has_paid(*, viewer, terms: PaidTerms) -> bool:
    """Whether `viewer` (from the wallet linked to their account) paid for `terms`: a confirmed transfer of at
    least the price to the creator's wallet, or a confirmed, running, uncancelled stream to it at at least the
    rate. Anonymous viewers, viewers without a wallet and chains without a deployment have paid for nothing."""
    if viewer is None or not viewer.is_authenticated:
        return False
    if not terms.creator_wallet or not viewer.wallet_address:
        return False
    token_address = terms.token_address
    if token_address is None:
        deployment = ChainDeployment.objects.filter(chain_id=settings.CHAIN_ID).first()
        if deployment is None:
            return False
        # Prices are in our token: a transfer of a token from an earlier deployment does not count.
        token_address = deployment.token_address
    if terms.price is not None:
        paid = Payment.objects.filter(
            chain_id=settings.CHAIN_ID, token_address=token_address,
            status=Payment.Status.CONFIRMED, kind=Payment.Kind.TRANSFER,
            from_address=viewer.wallet_address, to_address=terms.creator_wallet, amount__gte=terms.price,
        )
        if paid.exists():
            return True
    if terms.stream_rate is not None:
        now = timezone.now()
        streaming = PaymentStream.objects.filter(
            chain_id=settings.CHAIN_ID, token_address=token_address, sender=viewer.wallet_address,
            recipient=terms.creator_wallet, rate_per_second__gte=terms.stream_rate, creation_confirmed=True,
            cancelled=False, start_time__lte=now, stop_time__gt=now,
        )
        if streaming.exists():
            return True
    return False
