"""Issue 12 §3: operator surfaces fail closed.

The embedded node's Kubo RPC (`/api/v0`) and the details of `/api/health` are for operators. Behind a
reverse proxy on the same host every client's REMOTE_ADDR is loopback, so being loopback proves
nothing: with DEBUG off they need a token (or, for health details, a staff session)."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.ipfs.cid import cid_parse
from integrations.ipfs.node import EmbeddedNode

pytestmark = pytest.mark.django_db

# What an internet client's request looks like once a reverse proxy on the same host passed it on.
BEHIND_PROXY = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7", "HTTP_X_REAL_IP": "203.0.113.7"}
PLAIN_LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
OPERATOR_COMMANDS = ["pin/ls", "pin/rm", "repo/gc", "pin/add", "add", "cat", "ls", "dag/export", "version"]


@pytest.fixture
def node(settings, tmp_path):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "blocks"
    settings.DEBUG = False
    settings.IPFS_RPC_TOKEN = ""
    node = EmbeddedNode(settings.IPFS_BLOCKSTORE_DIR)
    added = node.add_bytes(b"a public video's playlist\n")
    return node, added.cid_str


def rpc(command: str, *, arg: str = "", token: str | None = None, **meta):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    query = f"?arg={arg}" if arg else ""
    return Client().post(f"/api/v0/{command}{query}", **{**meta, **headers})


@pytest.mark.parametrize("meta", [BEHIND_PROXY, PLAIN_LOOPBACK], ids=["behind-proxy", "plain-loopback"])
@pytest.mark.parametrize("command", OPERATOR_COMMANDS)
def test_rpc_without_a_configured_token_refuses_everyone_when_debug_is_off(node, command, meta):
    _, cid = node
    response = rpc(command, arg=cid, **meta)
    assert response.status_code == 403, response.content
    assert "IPFS_RPC_TOKEN" in response.json()["Message"]


def test_pin_ls_rm_and_gc_from_loopback_behind_a_proxy_change_nothing(node, settings):
    embedded, cid = node
    settings.IPFS_RPC_TOKEN = "operator-secret"
    for command in ("pin/ls", "pin/rm", "repo/gc"):
        assert rpc(command, arg=cid, **BEHIND_PROXY).status_code == 403
        assert rpc(command, arg=cid, token="wrong", **BEHIND_PROXY).status_code == 403
    assert cid in embedded.pins()
    assert b"".join(embedded.cat(cid_parse(cid))) == b"a public video's playlist\n"


def test_rpc_with_the_token_works(node, settings):
    embedded, cid = node
    settings.IPFS_RPC_TOKEN = "operator-secret"
    listed = rpc("pin/ls", token="operator-secret", **BEHIND_PROXY)
    assert listed.status_code == 200 and cid in listed.json()["Keys"]
    assert rpc("pin/rm", arg=cid, token="operator-secret", **BEHIND_PROXY).status_code == 200
    gc = rpc("repo/gc", token="operator-secret", **BEHIND_PROXY)
    assert gc.status_code == 200 and gc.json()["Removed"] >= 1
    assert cid not in embedded.pins()


def test_debug_lets_plain_loopback_in_only_without_a_trusted_proxy(node, settings):
    """`make run` (DEBUG, runserver on 127.0.0.1) keeps a tokenless RPC for the developer's tools."""
    _, cid = node
    settings.DEBUG = True
    assert rpc("pin/ls", **PLAIN_LOOPBACK).status_code == 200
    assert rpc("pin/ls", REMOTE_ADDR="192.0.2.1").status_code == 403
    # a proxy's headers, or a proxy configured, mean the loopback address is the proxy's
    assert rpc("pin/ls", **BEHIND_PROXY).status_code == 403
    assert rpc("pin/ls", REMOTE_ADDR="127.0.0.1", HTTP_FORWARDED="for=203.0.113.7").status_code == 403
    settings.NINJA_NUM_PROXIES = 1
    assert rpc("pin/ls", **PLAIN_LOOPBACK).status_code == 403


def test_rpc_numbers_are_ascii_only(node, settings):
    settings.IPFS_RPC_TOKEN = "operator-secret"
    _, cid = node
    response = Client().post(f"/api/v0/cat?arg={cid}&offset=%C2%B2", HTTP_AUTHORIZATION="Bearer operator-secret")
    assert response.status_code == 500 and "offset" in response.json()["Message"]  # Kubo's error shape
    response = Client().post("/api/v0/add?cid-version=%D9%A1", HTTP_AUTHORIZATION="Bearer operator-secret")
    assert response.json()["Message"] == "cid-version must be 0 or 1"


# -- /api/health ---------------------------------------------------------------------------------------


def counting_tool(folder, name: str):
    """A stand-in for ffmpeg that records each time it is started, then answers `-version` like it:
    a real program, so the test counts real process starts."""
    log = folder / f"{name}.runs"
    script = folder / name
    script.write_text(f'#!/bin/sh\necho run >> "{log}"\necho "{name} version 9.9-counting"\n')
    script.chmod(0o755)
    return script, log


@pytest.fixture
def health_parts_down(settings):
    """Parts that answer fast (refused connections) so each call is quick."""
    from integrations.localnet import free_port

    settings.RPC_URL = f"http://127.0.0.1:{free_port()}/?apikey=provider-secret"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEBUG = False
    settings.HEALTH_TOKEN = "health-secret"


def test_anonymous_health_shows_status_and_ok_per_part_only(client, health_parts_down, settings):
    response = client.get("/api/health", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert set(body["parts"]) == {"database", "queue", "ffmpeg", "ffprobe", "chain", "ipfs", "smtp"}
    for name, part in body["parts"].items():
        assert part == {"ok": part["ok"]}, (name, part)
    assert body["parts"]["chain"] == {"ok": False}
    text = response.content.decode()
    for secret in ("provider-secret", str(settings.DATA_DIR), "sqlite", "version", "Connect"):
        assert secret not in text


def test_health_details_for_staff_and_the_health_token(client, health_parts_down, django_user_model):
    by_token = client.get("/api/health", HTTP_AUTHORIZATION="Bearer health-secret").json()
    assert "Connect" in by_token["parts"]["chain"]["detail"] and "latency_ms" in by_token["parts"]["chain"]
    wrong = client.get("/api/health", HTTP_AUTHORIZATION="Bearer nope").json()
    assert "detail" not in wrong["parts"]["chain"]
    user = django_user_model.objects.create_user(email="viewer@example.com", password="pw-123456789")
    client.force_login(user)
    assert "detail" not in client.get("/api/health").json()["parts"]["database"]
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get("/api/health").json()["parts"]["database"]["detail"]


def test_health_starts_each_tool_once_per_process(client, health_parts_down, settings, tmp_path):
    ffmpeg, ffmpeg_runs = counting_tool(tmp_path, "ffmpeg-counting")
    ffprobe, ffprobe_runs = counting_tool(tmp_path, "ffprobe-counting")
    settings.FFMPEG_BINARY, settings.FFPROBE_BINARY = str(ffmpeg), str(ffprobe)
    for _ in range(3):
        body = client.get("/api/health").json()
        assert body["parts"]["ffmpeg"] == {"ok": True} and body["parts"]["ffprobe"] == {"ok": True}
    assert ffmpeg_runs.read_text().count("run") == 1
    assert ffprobe_runs.read_text().count("run") == 1
    detailed = client.get("/api/health", HTTP_AUTHORIZATION="Bearer health-secret").json()
    assert detailed["parts"]["ffmpeg"]["detail"].startswith("ffmpeg-counting version 9.9-counting at ")
    assert ffmpeg_runs.read_text().count("run") == 1


# -- the other operator surfaces ------------------------------------------------------------------------


def test_other_operator_surfaces_need_staff_whatever_the_address(django_user_model):
    """A regression guard (these were closed before issue 12): the admin's SMTP-sink mailbox and the
    indexer status need a staff user, from loopback behind a proxy too."""
    user = django_user_model.objects.create_user(email="user@example.com", password="pw-123456789")
    signed_in = Client(**BEHIND_PROXY)
    signed_in.force_login(user)
    for client in (Client(**BEHIND_PROXY), signed_in):
        mailbox = client.get("/admin/notifications/outboundemail/mailbox/")
        assert mailbox.status_code == 302 and "/admin/login/" in mailbox["Location"]
    assert Client(**BEHIND_PROXY).get("/api/payments/indexer").status_code == 401
    assert signed_in.get("/api/payments/indexer").json()["code"] == "staff_only"
