"""`manage.py demo` on the test fixtures' real parts: anvil with our contracts, the SMTP server, django-q2 clusters."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.brokers import get_broker

from accounts.models import User
from demo import services as demo
from media_pipeline.models import Video
from notifications.models import OutboundEmail
from payments.models import PaymentStream
from pinning.models import IPFSRecord
from tests.fixtures.processes import ROOT
from tests.fixtures.qcluster import child_environment


@pytest.fixture
def demo_parts(settings, media_root, tmp_path, anvil_factory, smtp_server, transactional_db):
    """A fresh chain with our contracts deployed by `chain deploy`, the SMTP server, a media folder of this test's own."""
    node = anvil_factory()
    settings.RPC_URL = node.url
    settings.CHAIN_DEPLOYER_KEY = node.private_keys[0]
    settings.IPFS_BLOCKSTORE_DIR = settings.MEDIA_ROOT / "ipfs" / "blocks"
    settings.MAIL_SINK_DIR = tmp_path / "mail"  # the test's SMTP server keeps mail in memory
    call_command("chain", "deploy", stdout=io.StringIO())
    return node


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def assert_tour_done(output: str, smtp_server, settings) -> tuple[Video, Video, PaymentStream]:
    trailer = Video.objects.get(title=demo.TRAILER_TITLE)
    film = Video.objects.get(title=demo.FILM_TITLE)
    assert trailer.status == film.status == Video.Status.READY
    assert film.visibility == Video.Visibility.PAID and film.renditions.count() == 2
    records = IPFSRecord.objects.filter(object_id=trailer.pk)
    assert {r.role for r in records} == {"video_hls", "video_thumbnail", "video_metadata"}
    assert {r.status for r in records} == {IPFSRecord.Status.PINNED}
    hls = records.get(role="video_hls")
    assert trailer.hls_cid == hls.cid
    assert not IPFSRecord.objects.filter(object_id=film.pk).exists()  # paid videos stay off IPFS

    creator, viewer = User.objects.get(email=demo.CREATOR_EMAIL), User.objects.get(email=demo.VIEWER_EMAIL)
    stream = PaymentStream.objects.filter(sender=viewer.wallet_address, recipient=creator.wallet_address,
                                          cancelled=False).get()
    assert stream.creation_confirmed and stream.sender_user == viewer and stream.recipient_user == creator
    assert stream.rate_per_second == film.stream_rate

    assert "paid, 5 FLOW or a stream of 0.001 FLOW/s" in output
    assert "refused: paid video" in output
    assert "the paid film now plays for the viewer" in output
    assert f"{settings.SITE_URL}/play/{film.pk}/" in output
    for url in (f"{settings.SITE_URL}/watch/{film.pk}", f"{settings.SITE_URL}/admin/", f"{settings.SITE_URL}/api/docs",
                f"{settings.IPFS_GATEWAY_URL.rstrip('/')}/{hls.cid}/",
                f"{settings.SITE_URL}/admin/notifications/outboundemail/mailbox/",
                f"{settings.SITE_URL}/admin/payments/paymentstream/{stream.pk}/change/"):
        assert url in output, url
    received = {(m.rcpt_tos[0], m.message["Subject"]) for m in smtp_server.messages}
    assert (viewer.email, f"Your payment stream #{stream.stream_id} has started") in received
    assert (creator.email, f"A payment stream to you (#{stream.stream_id}) has started") in received
    return trailer, film, stream


@pytest.mark.slow
def test_the_demo_runs_to_the_end_on_real_workers(demo_parts, q_cluster_factory, smtp_server, settings):
    """The real path: transcodes on the long cluster, pins and emails on the default one, as with `make run`."""
    env = {"MEDIA_ROOT": str(settings.MEDIA_ROOT), "IPFS_BLOCKSTORE_DIR": str(settings.IPFS_BLOCKSTORE_DIR),
           "EMAIL_HOST": smtp_server.host, "EMAIL_PORT": str(smtp_server.port), "RPC_URL": demo_parts.url}
    q_cluster_factory(env=env)
    q_cluster_factory(name=settings.TRANSCODE_CLUSTER, env=env)

    output = run_demo("--pickup-timeout", "120", "--timeout", "300")

    assert_tour_done(output, smtp_server, settings)
    assert "[9/9] Emails that arrived" in output and "100.0%" in output
    received = {(m.rcpt_tos[0], m.message["Subject"]) for m in smtp_server.messages}
    assert {rcpt for rcpt, _ in received} == {demo.CREATOR_EMAIL, demo.VIEWER_EMAIL}
    assert any(subject.startswith("Welcome to Flowcast") for _, subject in received)
    assert any("ready" in subject.lower() for rcpt, subject in received if rcpt == demo.CREATOR_EMAIL)
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.slow
def test_the_demo_inline_and_again_reuses_what_it_made(demo_parts, smtp_server, settings):
    """`--sync` needs no worker. A second run reuses the accounts and videos, cancels the first stream so the
    film is refused again, and opens a new one."""
    first = run_demo("--sync")
    _, film, stream = assert_tour_done(first, smtp_server, settings)
    assert "password" in first and "(shown once)" in first

    smtp_server.handler.clear()
    second = run_demo("--sync")

    assert User.objects.filter(email__in=[demo.CREATOR_EMAIL, demo.VIEWER_EMAIL]).count() == 2
    assert Video.objects.count() == 2 and "ready from an earlier run" in second
    assert f"cancelled stream(s) {stream.stream_id} left running by an earlier run" in second
    stream.refresh_from_db()
    assert stream.cancelled
    _, _, new_stream = assert_tour_done(second, smtp_server, settings)
    assert new_stream.stream_id != stream.stream_id
    assert "(shown once)" not in second


def test_a_chain_without_our_contracts_is_named_with_the_fix(settings, anvil, smtp_server, db):
    settings.RPC_URL = anvil.url
    with pytest.raises(CommandError, match=r"No contracts are deployed on chain 31337: run `make run`.*`manage.py chain deploy`"):
        run_demo("--sync")


def test_a_missing_smtp_server_is_named_with_the_fix(settings, anvil, db):
    settings.RPC_URL = anvil.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    with pytest.raises(CommandError, match=r"The SMTP is not available: .*`make run`.*smtp_sink"):
        run_demo()


def test_without_a_chain_the_command_exits_non_zero_and_says_to_start_the_platform(tmp_path, db):
    env = child_environment(DATA_DIR=str(tmp_path), RPC_URL="http://127.0.0.1:9")
    result = subprocess.run([sys.executable, "manage.py", "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "The chain is not available" in result.stderr and "make run" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_worker_the_demo_says_to_start_one_or_use_sync(demo_parts, settings):
    try:
        with pytest.raises(CommandError, match=r"No worker took transcode job \d+ in 1 s\. Is `make run` running.*--sync"):
            run_demo("--pickup-timeout", "1")
    finally:
        # The queued transcode and welcome emails must not reach another test's cluster.
        for cluster in (settings.TRANSCODE_CLUSTER, None):
            get_broker(cluster).purge_queue()
    assert Video.objects.filter(title=demo.TRAILER_TITLE, status=Video.Status.QUEUED).exists()


def test_the_demo_refuses_a_chain_that_is_not_a_dev_chain(demo_parts, settings):
    settings.CHAIN_ID = 1
    with pytest.raises(CommandError, match="runs on a local dev chain only"):
        run_demo("--sync")
