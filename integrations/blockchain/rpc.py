"""A small JSON-RPC client for the indexer: raw calls through web3.py's HTTP provider, counted,
with transient failures retried (tenacity) and "range too large" refusals told apart.

Raw `provider.make_request` keeps the hot path free of web3's result formatting; the
indexer decodes logs itself (see `events.py`). Imports no models; the URL comes in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from web3 import Web3

from integrations.retry import transient_retry

log = logging.getLogger(__name__)

# Words nodes use when they refuse an eth_getLogs range (geth, erigon, alchemy, infura, anvil forks).
RANGE_REFUSAL_HINTS = (
    "range",
    "too many",
    "limit exceeded",
    "query returned more than",
    "response size",
    "exceed",
    "block range",
)


class RPCError(Exception):
    """The node answered with a JSON-RPC error."""

    def __init__(self, method: str, error: dict):
        self.method = method
        self.error = error
        self.code = error.get("code")
        super().__init__(f"{method}: {error.get('message', error)}")


class RangeTooLarge(RPCError):
    """The node refused an eth_getLogs range; ask again with a smaller one."""


class RPCUnavailable(Exception):
    """The node could not be reached after retries."""


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


def is_transient(error: BaseException) -> bool:
    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return True
    if isinstance(error, requests.HTTPError):
        status = error.response.status_code if error.response is not None else 0
        return status == 429 or status >= 500
    if isinstance(error, RPCError) and not isinstance(error, RangeTooLarge):
        # -32005 limit exceeded / rate limited, -32603 internal error (node busy); others are our fault.
        return error.code in (-32005, -32603, 429)
    return False


class ChainRPC:
    def __init__(self, url: str, *, timeout: float = 10, retry_attempts: int = 6, max_retry_wait: float = 3.0):
        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None))
        self.retry_attempts = retry_attempts
        self.max_retry_wait = max_retry_wait
        self.calls = 0

    def request(self, method: str, params: list):
        def once():
            self.calls += 1
            response = self.w3.provider.make_request(method, params)
            if "error" in response:
                error = response["error"] if isinstance(response["error"], dict) else {"message": str(response["error"])}
                message = str(error.get("message", "")).lower()
                if method == "eth_getLogs" and any(hint in message for hint in RANGE_REFUSAL_HINTS):
                    raise RangeTooLarge(method, error)
                raise RPCError(method, error)
            return response["result"]

        def on_retry(state):
            log.warning("RPC %s failed (%s); retry %d", method, state.outcome.exception(), state.attempt_number)

        try:
            return transient_retry(
                is_transient, attempts=self.retry_attempts, max_wait=self.max_retry_wait, on_retry=on_retry
            )(once)
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as error:
            raise RPCUnavailable(f"{self.url} unreachable: {error}") from error

    def chain_id(self) -> int:
        return int(self.request("eth_chainId", []), 16)

    def head(self) -> int:
        return int(self.request("eth_blockNumber", []), 16)

    def header(self, number: int) -> BlockHeader | None:
        block = self.request("eth_getBlockByNumber", [hex(number), False])
        if block is None:
            return None
        return BlockHeader(
            number=int(block["number"], 16),
            hash=block["hash"],
            parent_hash=block["parentHash"],
            timestamp=int(block["timestamp"], 16),
        )

    def get_logs(self, *, from_block: int, to_block: int, addresses: list[str], topics: list | None = None) -> list[dict]:
        query = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": addresses}
        if topics:
            query["topics"] = topics
        return self.request("eth_getLogs", [query])

    def code_at(self, address: str) -> str:
        return self.request("eth_getCode", [address, "latest"])
