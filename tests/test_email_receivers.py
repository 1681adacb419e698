"""Domain signals → outbox rows in the sender's transaction → one email each, never two.

The payment and stream receivers get unsaved `Payment` / `PaymentStream` rows, sent inside a
transaction as the indexer sends them (the chain itself is in test_chain_emails.py). No node
answers at RPC_URL here, so amounts fall back to base units, and say so.
"""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.db import transaction

from accounts.models import User
from media_pipeline.models import Video
from media_pipeline.signals import video_failed, video_ready
from notifications import services
from notifications.models import OutboundEmail
from payments.signals import payment_confirmed, stream_cancelled, stream_created
from tests.outbox_fixtures import outbox  # noqa: F401
from tests.payment_helpers import payment_row, stream_row

PAYER_ADDRESS = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
PAYEE_ADDRESS = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
TOKEN = "0x" + "7e" * 20  # no chain test deploys here, so no process has read its decimals


@pytest.fixture
def payer(db):
    return User.objects.create_user("payer@example.com", wallet_address=PAYER_ADDRESS, display_name="Pat")


@pytest.fixture
def payee(db):
    return User.objects.create_user("creator@example.com", wallet_address=PAYEE_ADDRESS, display_name="Cleo")


STREAMS = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
BLOCK = "0x" + "bc" * 32


def a_payment(**overrides):
    """Unsaved: the receivers get the row inside the indexer's transaction."""
    return payment_row(9, sender=PAYER_ADDRESS, recipient=PAYEE_ADDRESS, amount=5 * 10**18, token_address=TOKEN,
                       save=False, **{"pk": 1, "tx_hash": "0x" + "ab" * 32, "log_index": 3, "block_hash": BLOCK,
                                      "contract_address": TOKEN, **overrides})


def a_stream(**overrides):
    # stop_time in unix seconds: the emails read those as well as datetimes.
    return stream_row(7, sender=PAYER_ADDRESS, recipient=PAYEE_ADDRESS, start=datetime(2026, 11, 27, 10, tzinfo=UTC),
                      duration=3600, rate=10**15, token_address=TOKEN, contract_address=STREAMS, save=False,
                      **{"pk": 1, "stop_time": 1_795_777_200, "tx_hash": "0x" + "cd" * 32, "block_number": 9,
                         "block_hash": BLOCK, **overrides})


def event_messages(server):
    """Received messages other than the welcome emails of the users the fixtures made."""
    return [m for m in server.messages if m.message["X-Flowcast-Email"] != "welcome"]


def only_event_rows():
    return OutboundEmail.objects.exclude(template="welcome")


def test_payment_confirmed_emails_both_linked_users_once(outbox, payer, payee, django_capture_on_commit_callbacks):
    payment = a_payment(from_user=payer, to_user=payee)
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            payment_confirmed.send(sender=SimpleNamespace, payment=payment)
            payment_confirmed.send(sender=SimpleNamespace, payment=payment)  # a repeated signal
    rows = only_event_rows().order_by("recipient")
    assert [(r.recipient, r.context["role"]) for r in rows] == [("creator@example.com", "recipient"),
                                                                ("payer@example.com", "sender")]
    # Named by the log's chain identity: chain, emitting contract, transaction, log index and block.
    assert rows[0].idempotency_key == f"payment-confirmed:31337:{TOKEN}:{payment.tx_hash}:3:{BLOCK}:{payee.pk}"
    assert rows[0].event_key == payment.event_key
    assert len(callbacks) == 2  # one send task per new row, none for the repeat

    services.outbound_email_drain()
    subjects = {m.rcpt_tos[0]: m.message["Subject"] for m in event_messages(outbox)}
    # No node tells the token's decimals here: the amount is exact, in base units, and says so.
    assert subjects == {"payer@example.com": "Your payment of 5,000,000,000,000,000,000 base units is confirmed",
                        "creator@example.com": "You received a payment of 5,000,000,000,000,000,000 base units"}
    text = next(m for m in event_messages(outbox) if m.rcpt_tos[0] == "creator@example.com").message.get_body(("plain",)).get_content()
    assert payment.tx_hash in text and "Hi Cleo," in text


def test_a_payment_without_linked_users_emails_no_one(payer):
    with transaction.atomic():
        payment_confirmed.send(sender=SimpleNamespace, payment=a_payment())
    assert not only_event_rows().exists()


def test_stream_created_and_cancelled_email_sender_and_recipient(outbox, payer, payee):
    stream = a_stream(sender_user=payer, recipient_user=payee)
    with transaction.atomic():
        stream_created.send(sender=SimpleNamespace, stream=stream)
        stream_created.send(sender=SimpleNamespace, stream=stream)
    stream.cancelled_at = datetime(2026, 11, 27, 10, 20, tzinfo=UTC)
    stream.cancelled, stream.cancel_tx_hash, stream.cancel_log_index, stream.cancel_block_hash = True, "0x" + "ef" * 32, 0, BLOCK
    with transaction.atomic():
        stream_cancelled.send(sender=SimpleNamespace, stream=stream)
    rows = only_event_rows()
    assert sorted(rows.values_list("template", "recipient")) == [
        ("stream_cancelled", "creator@example.com"), ("stream_cancelled", "payer@example.com"),
        ("stream_started", "creator@example.com"), ("stream_started", "payer@example.com"),
    ]
    started = rows.get(template="stream_started", recipient="payer@example.com")
    assert started.context["start_time"] == "2026-11-27 10:00 UTC"
    assert started.context["stop_time"] == "2026-11-27 11:00 UTC"  # unix seconds work too
    assert started.subject == "Your payment stream #7 has started"
    cancelled = rows.get(template="stream_cancelled", recipient="creator@example.com")
    assert "was cancelled at 2026-11-27 10:20 UTC" in cancelled.body_text.replace("\n", " ")
    services.outbound_email_drain()
    assert len(event_messages(outbox)) == 4


def test_video_ready_and_failed_email_the_owner(outbox, payee, settings):
    video = Video.objects.create(owner=payee, title="Harbour at dawn", duration=187.2)
    with transaction.atomic():
        video_ready.send(sender=Video, video=video)
        video_ready.send(sender=Video, video=video)
        video_failed.send(sender=Video, video=video, error="The file has no video stream.")
        video_failed.send(sender=Video, video=video, error="The file has no video stream.")
        video_failed.send(sender=Video, video=video, error="ffmpeg exited with code 1")
    rows = only_event_rows()
    assert sorted(rows.values_list("template", flat=True)) == ["video_failed", "video_failed", "video_ready"]
    ready = rows.get(template="video_ready")
    assert ready.subject == 'Your video "Harbour at dawn" is ready to watch'
    assert f"http://testserver/watch/{video.pk}" in ready.body_text and "(3:07)" in ready.body_text
    services.outbound_email_drain()
    assert [m.rcpt_tos[0] for m in event_messages(outbox)] == ["creator@example.com"] * 3


def test_a_signal_in_a_transaction_that_rolls_back_leaves_no_email(payer, payee, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                payment_confirmed.send(sender=SimpleNamespace, payment=a_payment(from_user=payer, to_user=payee))
                raise RuntimeError("reorg detected before commit")
    assert callbacks == []
    assert not only_event_rows().exists()


def test_loaddata_does_not_send_welcome_emails(db):
    from django.core import serializers

    user = User(email="restored@example.com", pk=999)
    data = serializers.serialize("json", [user])
    for obj in serializers.deserialize("json", data):
        obj.save()  # raw=True, as loaddata does
    assert User.objects.filter(email="restored@example.com").exists()
    assert not OutboundEmail.objects.exists()


def test_a_long_title_still_fits_the_subject_column(payee):
    video = Video.objects.create(owner=payee, title="T" * 200)
    with transaction.atomic():
        video_failed.send(sender=Video, video=video, error="x")
    row = only_event_rows().get()
    assert len(row.subject) <= 255 and row.subject.startswith("We could not process your video")
