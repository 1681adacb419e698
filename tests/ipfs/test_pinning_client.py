"""The Pinning Service API client against a real HTTP server on 127.0.0.1 implementing the spec (tests/ipfs/pinning_server.py)."""

from __future__ import annotations

import pytest

from integrations.ipfs.pinning import PinningServiceClient, PinningServiceError
from integrations.localnet import free_port
from tests.ipfs.pinning_server import PinningService

CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.fixture
def service():
    server = PinningService("secret-token").start()
    yield server
    server.stop()


def test_pin_poll_to_pinned_list_and_delete(service):
    client = PinningServiceClient(service.url, "secret-token")
    status = client.add(CID, name="hello", meta={"kind": "file"})
    assert status.status == "queued" and status.cid == CID and status.request_id
    assert client.get(status.request_id).status == "pinning"
    assert client.get(status.request_id).status == "pinned"
    count, results = client.list(cids=[CID])
    assert count == 1 and results[0].name == "hello"
    client.delete(status.request_id)
    assert client.list(cids=[CID])[0] == 0
    client.delete(status.request_id)  # already gone: fine


def test_failed_pin_and_bad_token(service):
    service.fail_cids.add(CID)
    client = PinningServiceClient(service.url, "secret-token")
    request_id = client.add(CID).request_id
    assert client.get(request_id).status == "failed"
    with pytest.raises(PinningServiceError) as error:
        PinningServiceClient(service.url, "wrong", attempts=3).add(CID)
    assert error.value.status == 401 and error.value.reason == "UNAUTHORIZED" and not error.value.transient
    assert [method for method, path in service.requests if method == "POST"].count("POST") == 2  # 401 was not retried


def test_connection_refused_is_retried_then_raised():
    port = free_port()
    client = PinningServiceClient(f"http://127.0.0.1:{port}", "t", attempts=2, initial_wait=0.01, max_wait=0.02)
    with pytest.raises(Exception) as error:
        client.add(CID)
    assert "connect" in str(error.value).lower() or "refused" in str(error.value).lower()


def test_too_many_cids_in_a_filter(service):
    with pytest.raises(ValueError):
        PinningServiceClient(service.url, "secret-token").list(cids=[CID] * 11)
