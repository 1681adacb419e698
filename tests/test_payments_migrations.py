"""Rows indexed before payments 0003 get the emitting contract of their log, so their outbox keys
(`chain_event_key`) name the same event as the indexer's rows from then on."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE, AFTER = [("payments", "0002_indexer_schedule")], [("payments", "0003_chain_event_identity")]


def test_0003_fills_the_contract_of_every_payments_log():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Deployment, Stream, Payment = (apps.get_model("payments", name) for name in ("ChainDeployment", "PaymentStream", "Payment"))
    token, streams, old_streams = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20
    Deployment.objects.create(chain_id=31337, token_address=token, stream_address=streams)
    when = datetime(2026, 11, 27, tzinfo=UTC)
    stream = Stream.objects.create(chain_id=31337, contract_address=old_streams, stream_id=1, sender="0x1", recipient="0x2",
                                   token_address=token, deposit=10, rate_per_second=1, start_time=when,
                                   stop_time=when.replace(hour=1), remaining_balance=10, tx_hash="0xs", log_index=0,
                                   block_number=1, block_hash="0xb")

    def payment(n, kind, stream=None):
        return Payment.objects.create(chain_id=31337, tx_hash=f"0x{n}", log_index=0, block_number=n, block_hash="0xb",
                                      from_address="0x1", to_address="0x2", token_address=token, amount=n, kind=kind,
                                      stream=stream)

    transfer, payout, orphan_payout = payment(1, "transfer"), payment(2, "withdrawal", stream), payment(3, "withdrawal")
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    Payment = executor.loader.project_state(AFTER).apps.get_model("payments", "Payment")
    filled = dict(Payment.objects.values_list("pk", "contract_address"))
    # A transfer's log comes from the token; a payout's from its stream's contract (or, its stream gone, the deployment's).
    assert filled == {transfer.pk: token, payout.pk: old_streams, orphan_payout.pk: streams}
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
