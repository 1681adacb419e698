"""Retry policy for calls to the outside world (RPC nodes, IPFS, SMTP), with tenacity.

Only transient failures are retried; each client says which are transient.
"""

from __future__ import annotations

from collections.abc import Callable

import tenacity


def transient_retry(
    is_transient: Callable[[BaseException], bool],
    *,
    attempts: int = 5,
    initial_wait: float = 0.2,
    max_wait: float = 5.0,
    on_retry: Callable[[tenacity.RetryCallState], None] | None = None,
) -> tenacity.Retrying:
    """A `tenacity.Retrying` that retries `is_transient` errors with jittered exponential backoff.

    Use as `for attempt in transient_retry(...): with attempt: call()` or
    `transient_retry(...)(function, *args)`. The last error is re-raised as itself.
    """
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential_jitter(multiplier=initial_wait, max=max_wait, jitter=initial_wait),
        before_sleep=on_retry,
        reraise=True,
    )
