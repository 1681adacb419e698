"""End to end: a real django-q2 cluster runs the indexer task against a real anvil chain."""

import pytest
from django_q.tasks import async_task

from payments import services
from payments.models import IndexerCursor, Payment
from tests.chain_helpers import deploy_chain
from tests.fixtures.processes import wait_for

pytestmark = pytest.mark.slow


def test_the_queued_indexer_task_mirrors_a_payment(anvil_factory, q_cluster_factory):
    node = anvil_factory()
    chain = deploy_chain(node)
    services.deployment_record(chain_id=node.chain_id, token_address=chain.token.address,
                               stream_address=chain.streams.address, deploy_block=chain.deploy_block)
    chain.mint(chain.accounts[1], 10**20)
    receipt = chain.transfer(chain.accounts[1], chain.accounts[2], 31337)
    cluster = q_cluster_factory(env={"RPC_URL": node.url, "CHAIN_CONFIRMATIONS": "0"})
    async_task("payments.tasks.chain_follow_task", 0, task_name="chain-sync-e2e")
    wait_for(lambda: Payment.objects.filter(status="confirmed").exists(), timeout=60,
             what=f"the indexer task (cluster log: {cluster.log_tail(5)})")
    payment = Payment.objects.get()
    assert payment.amount == 31337 and payment.tx_hash == receipt["transactionHash"].to_0x_hex()
    assert IndexerCursor.objects.get().last_block >= receipt["blockNumber"]
