"""The real parts the suite starts behave as later tests rely on."""

import json
import subprocess

import pytest
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from tests.fixtures.processes import wait_for


def test_anvil_answers_and_reverts_snapshots(anvil_snapshot):
    anvil = anvil_snapshot
    assert int(anvil.rpc("eth_chainId"), 16) == 31337
    start = anvil.block_number()
    snapshot = anvil.snapshot()
    anvil.mine(3)
    assert anvil.block_number() == start + 3
    anvil.revert(snapshot)
    assert anvil.block_number() == start


def test_anvil_with_state_survives_a_restart(anvil_factory, tmp_path):
    node = anvil_factory(state_path=tmp_path / "state.json")
    node.mine(5)
    height = node.block_number()
    node.stop()
    assert not node.running
    node.start()
    assert node.block_number() == height


def test_smtp_server_receives_django_mail(smtp_server):
    message = EmailMultiAlternatives("Hello", "plain body", "from@flowcast.test", ["to@example.com"])
    message.attach_alternative("<p>html body</p>", "text/html")
    message.send()
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("to@example.com",)
    parsed = received.message
    assert parsed["Subject"] == "Hello"
    assert parsed.get_body(("plain",)).get_content().strip() == "plain body"
    assert "<p>html body</p>" in parsed.get_body(("html",)).get_content()


def test_smtp_server_can_answer_with_an_error(smtp_server):
    import smtplib

    smtp_server.reply_with("451 4.3.0 Try again later")
    with pytest.raises(smtplib.SMTPDataError) as error:
        get_connection(fail_silently=False).send_messages(
            [EmailMultiAlternatives("x", "y", "a@flowcast.test", ["b@example.com"])]
        )
    assert error.value.smtp_code == 451
    assert smtp_server.messages == []


def test_smtp_server_outage_and_return(smtp_server):
    port = smtp_server.port
    smtp_server.stop()
    with pytest.raises(ConnectionRefusedError):
        get_connection().send_messages([EmailMultiAlternatives("x", "y", "a@flowcast.test", ["b@example.com"])])
    smtp_server.start(port=port)
    get_connection().send_messages([EmailMultiAlternatives("x", "y", "a@flowcast.test", ["b@example.com"])])
    assert len(smtp_server.messages) == 1


def probe(path):
    result = subprocess.run(
        [settings.FFPROBE_BINARY, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)


def test_generated_clips_have_what_was_asked(make_clip):
    clip = make_clip(width=320, height=180, seconds=2, audio=True)
    info = probe(clip)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"], video["codec_name"]) == (320, 180, "h264")
    assert any(s["codec_type"] == "audio" for s in info["streams"])
    assert 1.9 <= float(info["format"]["duration"]) <= 2.2
    silent = probe(make_clip(width=180, height=320, seconds=2, audio=False))
    assert [s["codec_type"] for s in silent["streams"]] == ["video"]
    assert make_clip(width=320, height=180, seconds=2, audio=True) == clip  # cached


@pytest.mark.slow
def test_q_cluster_runs_queued_tasks(q_cluster):
    from django_q.tasks import async_task, fetch

    task_id = async_task("math.floor", 3.7)
    task = wait_for(lambda: fetch(task_id), timeout=60, what="task result")
    assert task.success, q_cluster.log_tail()
    assert task.result == 3
