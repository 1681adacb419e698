"""Payment and stream rows as the indexer mirrors them, for tests that need no chain.

One builder per row kind: block `n` names the row (its tx hash, block number and hash), the
keywords say what matters to the test, and `fields` override any other column. `save=False`
gives an unsaved row (for `bulk_create`, or a signal sent with a row the indexer has not written).
"""

from __future__ import annotations

from datetime import timedelta

MIRRORED_TOKEN = "0x" + "c3" * 20
MIRRORED_STREAMS = "0x" + "d4" * 20


def payment_row(n: int = 1, *, sender: str, recipient: str, amount: int, token_address: str = MIRRORED_TOKEN,
                save: bool = True, **fields):
    """A confirmed token transfer of `amount` from `sender` to `recipient`, mined in block `n`."""
    from django.conf import settings

    from payments.models import Payment

    values = dict(chain_id=settings.CHAIN_ID, tx_hash=f"0x{n:064x}", log_index=0, block_number=n,
                  block_hash=f"0x{n:064x}", from_address=sender, to_address=recipient, token_address=token_address,
                  amount=amount, kind="transfer", status="confirmed")
    values.update(fields)
    return Payment.objects.create(**values) if save else Payment(**values)


def stream_row(n: int = 1, *, sender: str, recipient: str, start=None, duration: int = 1000, rate: int = 7,
               withdrawn: int = 0, token_address: str = MIRRORED_TOKEN, contract_address: str = MIRRORED_STREAMS,
               save: bool = True, **fields):
    """A confirmed stream #`n` paying `rate` per second for `duration` seconds from `start` (100 s ago)."""
    from django.conf import settings
    from django.utils import timezone

    from payments.models import PaymentStream

    start = start or timezone.now() - timedelta(seconds=100)
    values = dict(chain_id=settings.CHAIN_ID, contract_address=contract_address, stream_id=n, sender=sender,
                  recipient=recipient, token_address=token_address, deposit=rate * duration, rate_per_second=rate,
                  start_time=start, stop_time=start + timedelta(seconds=duration), withdrawn=withdrawn,
                  remaining_balance=rate * duration - withdrawn, tx_hash=f"0x{n:064x}", log_index=1, block_number=n,
                  block_hash=f"0x{n:064x}", creation_confirmed=True)
    values.update(fields)
    return PaymentStream.objects.create(**values) if save else PaymentStream(**values)


def mirrored_payment(*, sender: str, recipient: str, amount: int, n: int = 1):
    """A confirmed token transfer as the indexer mirrors it, with the deployment it counts for,
    for tests of paid access that need no chain."""
    from django.conf import settings

    from payments.models import ChainDeployment

    deployment, _ = ChainDeployment.objects.get_or_create(
        chain_id=settings.CHAIN_ID, defaults={"token_address": MIRRORED_TOKEN, "stream_address": MIRRORED_STREAMS,
                                              "deploy_block": 1},
    )
    return payment_row(n, sender=sender.lower(), recipient=recipient.lower(), amount=amount,
                       token_address=deployment.token_address)
