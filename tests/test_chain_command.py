"""`manage.py chain deploy|sync|status` against a real anvil node, and the indexer's schedule."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule
from web3 import Web3

from integrations.blockchain.deploy import has_code
from integrations.blockchain.sablier import contract_abi, deploy_sablier
from payments.models import ChainDeployment, IndexerCursor, Payment
from tests.chain_helpers import chain_at
from tests.fixtures.processes import ROOT
from tests.fixtures.qcluster import child_environment

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("chain", *args, stdout=out)
    return out.getvalue()


def test_deploy_if_missing_sync_and_status(anvil_factory, settings):
    node = anvil_factory()
    settings.RPC_URL, settings.CHAIN_ID, settings.CHAIN_DEPLOYER_KEY = node.url, node.chain_id, node.private_keys[0]
    settings.CHAIN_CONFIRMATIONS = 0
    holder = Web3(Web3.HTTPProvider(node.url)).eth.accounts[1]
    output = run("deploy", "--mint-to", holder, "--mint-amount", "5000")
    assert "Deployed at block" in output and f"Minted 5000 to {holder}" in output
    deployment = ChainDeployment.objects.get(chain_id=node.chain_id)
    w3 = Web3(Web3.HTTPProvider(node.url))
    assert has_code(w3, deployment.token_address) and has_code(w3, deployment.stream_address)

    assert "already deployed" in run("deploy", "--if-missing")
    assert ChainDeployment.objects.get(chain_id=node.chain_id).token_address == deployment.token_address

    chain_view = chain_at(node, token_address=deployment.token_address, stream_address=deployment.stream_address)
    chain_view.transfer(holder, w3.eth.accounts[2], 1234)
    output = run("sync")
    assert "1 new payment," in output and "1 confirmed" in output
    assert Payment.objects.get().amount == 1234
    assert "cursor: block" in run("status")
    assert "Up to date at block" in run("sync")


def test_deploy_if_missing_redeploys_when_the_chain_lost_the_contracts(anvil_factory, settings):
    node = anvil_factory()
    settings.RPC_URL, settings.CHAIN_ID, settings.CHAIN_DEPLOYER_KEY = node.url, node.chain_id, node.private_keys[0]
    ChainDeployment.objects.create(chain_id=node.chain_id, token_address="0x" + "1" * 40, stream_address="0x" + "2" * 40)
    assert "Deployed at block" in run("deploy", "--if-missing")
    assert IndexerCursor.objects.get().contract_address == ChainDeployment.objects.get().stream_address


def test_commands_explain_what_is_wrong(settings):
    settings.RPC_URL, settings.CHAIN_RPC_RETRIES = "http://127.0.0.1:9", 1
    with pytest.raises(CommandError, match="No chain answers at RPC_URL"):
        run("deploy")
    with pytest.raises(CommandError, match="No contracts recorded"):
        run("sync")
    ChainDeployment.objects.create(chain_id=settings.CHAIN_ID, token_address="0x" + "1" * 40, stream_address="0x" + "2" * 40)
    with pytest.raises(CommandError, match="resumes there"):
        run("sync")


def test_the_indexer_schedule_exists_after_migrations():
    schedule = Schedule.objects.get(name="payments.chain_follow")
    assert schedule.func == "payments.tasks.chain_follow_task" and schedule.schedule_type == Schedule.MINUTES


def test_deploy_with_an_unfunded_key_says_so(anvil_factory, settings):
    node = anvil_factory()
    settings.RPC_URL, settings.CHAIN_ID = node.url, node.chain_id
    settings.CHAIN_DEPLOYER_KEY = "0x" + "42" * 32  # a valid key with no ether
    with pytest.raises(CommandError, match="Deployment failed"):
        run("deploy")
    assert not ChainDeployment.objects.exists()


def test_sync_after_a_rollback_says_where_it_rolled_back_to(anvil_factory, settings):
    node = anvil_factory()
    settings.RPC_URL, settings.CHAIN_ID, settings.CHAIN_DEPLOYER_KEY = node.url, node.chain_id, node.private_keys[0]
    settings.CHAIN_CONFIRMATIONS = 0
    w3 = Web3(Web3.HTTPProvider(node.url))
    holder = w3.eth.accounts[1]
    run("deploy", "--mint-to", holder)
    deployment = ChainDeployment.objects.get()
    chain_view = chain_at(node, token_address=deployment.token_address, stream_address=deployment.stream_address)
    kept = chain_view.transfer(holder, w3.eth.accounts[2], 1)["blockNumber"]
    chain_view.transfer(holder, w3.eth.accounts[2], 2)
    run("sync")
    node.rpc("anvil_rollback", [1])
    output = run("sync")
    assert f"rolled back to block {kept}" in output and "1 payment orphaned" in output
    assert f"up to date at block {kept} (head {kept})" in output
    # No backwards range ("blocks 21..20") anywhere.
    import re

    for first, last in re.findall(r"(\d+)\.\.(\d+)", output):
        assert int(first) <= int(last), output

    chain_view.transfer(holder, w3.eth.accounts[2], 3)
    output = run("sync")
    assert f"blocks {kept + 1}..{kept + 1}" in output and "1 new payment" in output


def test_commands_log_no_line_per_rpc_call(anvil_factory, transactional_db):
    """Third-party loggers (httpx, web3, urllib3, ...) stay at WARNING unless LOG_LEVEL=DEBUG: no line per RPC call."""
    node = anvil_factory()
    env = child_environment(RPC_URL=node.url, CHAIN_ID=str(node.chain_id), CHAIN_DEPLOYER_KEY=node.private_keys[0],
                            CHAIN_CONFIRMATIONS="0", LOG_LEVEL="INFO")

    def manage(*args: str, **extra: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**env, **extra},
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr

    # web3 (over requests/urllib3) for the chain command, httpx for the health check's chain part.
    health = "from core.health import platform_health; print(platform_health()['chain'])"
    output = manage("chain", "deploy") + manage("chain", "sync") + manage("shell", "-c", health)
    assert "Deployed at block" in output and "chain 31337 at block" in output
    assert "HTTP Request:" not in output and " INFO httpx" not in output, output
    # Asked for, the per-request lines are there.
    assert "HTTP Request: POST" in manage("shell", "-c", health, LOG_LEVEL="DEBUG")


def test_deploy_also_deploys_sablier_lockup_linear_and_records_it(anvil_factory, settings):
    node = anvil_factory()
    settings.RPC_URL, settings.CHAIN_ID, settings.CHAIN_DEPLOYER_KEY = node.url, node.chain_id, node.private_keys[0]
    settings.SABLIER_LOCKUP_LINEAR_ADDRESS = ""
    output = run("deploy")
    deployment = ChainDeployment.objects.get(chain_id=node.chain_id)
    assert deployment.sablier_lockup_address and f"Sablier LockupLinear {deployment.sablier_lockup_address}" in output
    w3 = Web3(Web3.HTTPProvider(node.url))
    lockup = w3.eth.contract(address=Web3.to_checksum_address(deployment.sablier_lockup_address),
                             abi=contract_abi(settings.SABLIER_ARTIFACTS_DIR))
    assert lockup.functions.nextStreamId().call() == 1
    assert "already deployed" in run("deploy", "--if-missing")


def test_deploy_records_a_given_sablier_address_instead_of_deploying_one(anvil_factory, settings):
    node = anvil_factory()
    settings.RPC_URL, settings.CHAIN_ID, settings.CHAIN_DEPLOYER_KEY = node.url, node.chain_id, node.private_keys[0]
    w3 = Web3(Web3.HTTPProvider(node.url))
    given = deploy_sablier(w3, private_key=node.private_keys[1], artifacts_dir=settings.SABLIER_ARTIFACTS_DIR)
    settings.SABLIER_LOCKUP_LINEAR_ADDRESS = given.lockup_linear_address
    run("deploy")
    assert ChainDeployment.objects.get().sablier_lockup_address == given.lockup_linear_address
    # Only our two contracts were deployed by the deployer key (nonce 0 and 1).
    assert w3.eth.get_transaction_count(Web3.to_checksum_address(ChainDeployment.objects.get().deployer)) == 2

    settings.SABLIER_LOCKUP_LINEAR_ADDRESS = "0x" + "5" * 40  # no code there
    with pytest.raises(CommandError, match="SABLIER_LOCKUP_LINEAR_ADDRESS=0x5555.* has no code"):
        run("deploy")
