"""Display reads of tokens: a token's decimals and symbol (asked of the chain once, then cached) and
amounts written in the token's own units (`3.6 FLOW`), for the admin, the paywall and the emails."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, localcontext

from django.conf import settings
from django.core.cache import cache

from integrations.blockchain.service import BlockchainDataService

log = logging.getLogger(__name__)

TOKEN_META_CACHE_SECONDS = 24 * 3600
TOKEN_META_RETRY_SECONDS = 60


@dataclass(frozen=True)
class TokenMeta:
    decimals: int | None  # None: the node did not answer; amounts are shown in base units
    symbol: str = ""


# Tokens whose decimals and symbol this process has read: they never change, so an admin page's amount
# cells cost no cache round trip each.
_token_metas: dict[str, TokenMeta] = {}


def token_meta_get(*, token_address: str) -> TokenMeta:
    """A token's decimals and symbol, read from the chain once and cached (a token never changes them).
    Never raises: when the node does not answer, amounts are shown in base units and it is asked again later."""
    key = f"payments:token-meta:{settings.CHAIN_ID}:{token_address.lower()}"
    if key in _token_metas:
        return _token_metas[key]
    cached = cache.get(key)
    if cached is not None:
        if cached[0] is not None:
            _token_metas[key] = TokenMeta(*cached)
        return TokenMeta(*cached)
    try:
        # No retries: a page waits for this call, and a down node is reported by the health check.
        chain = BlockchainDataService(rpc_url=settings.RPC_URL, token_address=token_address, timeout=3, retries=False)
        meta = TokenMeta(decimals=chain.token_decimals(), symbol=chain.token_symbol())
        cache.set(key, (meta.decimals, meta.symbol), TOKEN_META_CACHE_SECONDS)
        _token_metas[key] = meta
    except Exception as error:  # any failure (no node, no contract, not an ERC-20) means "unknown", never a 500
        log.info("token %s: decimals unknown (%s)", token_address, error)
        meta = TokenMeta(decimals=None)
        cache.set(key, (None, ""), TOKEN_META_RETRY_SECONDS)
    return meta


def token_amount_format(*, amount: int, meta: TokenMeta) -> str:
    """`3.6 FLOW` (exact, no float), or `3,600 base units` when the decimals are unknown."""
    if meta.decimals is None:
        return f"{int(amount):,} base units"
    with localcontext() as context:
        context.prec = 100  # uint256 has 78 digits: keep every one
        value = Decimal(int(amount)).scaleb(-meta.decimals).normalize()
        text = f"{value:,f}"
    return f"{text} {meta.symbol}".strip()

