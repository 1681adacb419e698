"""`BlockchainDataService`: what the chain says about tokens and streams, plus an address's history
from our own index (JSON-RPC has no history call). web3.py 8; the provider (or its URL), the
contract addresses and the history source are injected; no model imports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from web3 import Web3
from web3.exceptions import ContractLogicError

from integrations.blockchain.artifacts import STREAM, TOKEN, contract_abi

HistorySource = Callable[[str, int, int], list[dict]]


class StreamNotFound(LookupError):
    pass


@dataclass(frozen=True)
class StreamDetails:
    stream_id: int
    sender: str
    recipient: str
    token_address: str
    deposit: int
    rate_per_second: int
    start_time: int
    stop_time: int
    remaining_balance: int  # held by the contract now
    cancelled: bool
    at: int  # the unix time the amounts below are for
    streamed: int  # owed to the recipient by `at` (withdrawn or not)
    withdrawn: int
    recipient_balance: int  # what the recipient could withdraw at `at`
    sender_balance: int  # what would go back to the sender if cancelled at `at`

    @property
    def status(self) -> str:
        if self.cancelled:
            return "cancelled"
        if self.at < self.start_time:
            return "scheduled"
        if self.at >= self.stop_time:
            return "ended"
        return "streaming"


def streamed_amount(*, deposit: int, rate_per_second: int, start_time: int, stop_time: int, at: int) -> int:
    """Tokens streamed by `at`: rate × elapsed seconds, clamped to [0, deposit] (the contract's formula)."""
    elapsed = min(max(at - start_time, 0), stop_time - start_time)
    return min(elapsed * rate_per_second, deposit)


class BlockchainDataService:
    def __init__(self, *, token_address: str, stream_address: str | None = None, rpc_url: str | None = None,
                 w3: Web3 | None = None, history_source: HistorySource | None = None, timeout: float = 10,
                 retries: bool = True):
        """`stream_address` None: a token-only service (its `stream` raises). `retries=False`: one try per
        call (web3's default retries a failed call several times), for callers a person waits on."""
        if w3 is None:
            if not rpc_url:
                raise ValueError("Give a Web3 instance or an RPC URL.")
            retry = {} if retries else {"exception_retry_configuration": None}
            w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, **retry))
        self.w3 = w3
        self.token = w3.eth.contract(address=Web3.to_checksum_address(token_address), abi=contract_abi(TOKEN))
        self.streams = (None if stream_address is None else
                        w3.eth.contract(address=Web3.to_checksum_address(stream_address), abi=contract_abi(STREAM)))
        self.history_source = history_source

    def _erc20(self, token_address: str | None):
        if token_address is None or token_address.lower() == self.token.address.lower():
            return self.token
        return self.w3.eth.contract(address=Web3.to_checksum_address(token_address), abi=contract_abi(TOKEN))

    def token_balance(self, address: str, *, token_address: str | None = None) -> int:
        return self._erc20(token_address).functions.balanceOf(Web3.to_checksum_address(address)).call()

    def token_decimals(self, *, token_address: str | None = None) -> int:
        return self._erc20(token_address).functions.decimals().call()

    def token_symbol(self, *, token_address: str | None = None) -> str:
        return self._erc20(token_address).functions.symbol().call()

    def native_balance(self, address: str) -> int:
        return self.w3.eth.get_balance(Web3.to_checksum_address(address))

    def stream(self, stream_id: int, *, at: int | None = None) -> StreamDetails:
        """A stream as the contract has it, with streamed and remaining amounts at unix time `at`
        (default: the latest block's time)."""
        if self.streams is None:
            raise RuntimeError("No stream contract was given to this BlockchainDataService.")
        try:
            sender, recipient, deposit, token, start, stop, remaining, rate, cancelled = (
                self.streams.functions.getStream(stream_id).call()
            )
        except ContractLogicError as error:
            raise StreamNotFound(f"stream {stream_id} does not exist") from error
        if at is None:
            at = self.w3.eth.get_block("latest")["timestamp"]
        withdrawn_or_paid = deposit - remaining
        if cancelled:
            # After a cancel everything was paid out; what the recipient got is not in storage.
            streamed = recipient_balance = sender_balance = 0
            withdrawn = withdrawn_or_paid
        else:
            streamed = streamed_amount(deposit=deposit, rate_per_second=rate, start_time=start, stop_time=stop, at=at)
            withdrawn = withdrawn_or_paid
            recipient_balance = max(streamed - withdrawn, 0)
            sender_balance = remaining - recipient_balance
        return StreamDetails(
            stream_id=stream_id, sender=sender.lower(), recipient=recipient.lower(), token_address=token.lower(),
            deposit=deposit, rate_per_second=rate, start_time=start, stop_time=stop, remaining_balance=remaining,
            cancelled=cancelled, at=at, streamed=streamed, withdrawn=withdrawn,
            recipient_balance=recipient_balance, sender_balance=sender_balance,
        )

    def transaction_history(self, address: str, *, offset: int = 0, limit: int = 20) -> list[dict]:
        """Payments from or to `address`, newest first, from the injected index."""
        if self.history_source is None:
            raise RuntimeError("No history source was given to this BlockchainDataService.")
        if not 1 <= limit <= 100 or offset < 0:
            raise ValueError("limit must be 1..100 and offset ≥ 0")
        return self.history_source(address.lower(), offset, limit)
