"""The IPFS records admin: list with gateway links, retry action with readable messages."""

from __future__ import annotations

import pytest

from integrations.models import IPFSRecord


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(email="admin@example.com", password="pw-123456789")
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_changelist_and_retry_action(staff_client, settings, tmp_path):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "blocks"
    failed = IPFSRecord.objects.create(name="broken", kind="file", backend="kubo", status="failed",
                                       last_error="Kubo add failed: connection refused")
    pinned = IPFSRecord.objects.create(name="fine", kind="file", backend="kubo", status="pinned",
                                       cid="QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    page = staff_client.get("/admin/integrations/ipfsrecord/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "connection refused" in html and "/ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o" in html
    response = staff_client.post("/admin/integrations/ipfsrecord/", {
        "action": "retry_failed", "_selected_action": [failed.pk, pinned.pk]}, follow=True)
    messages = [str(message) for message in response.context["messages"]]
    assert any("1 pin(s) queued again" in message for message in messages)
    assert any("Only failed pins can be retried" in message for message in messages)
    failed.refresh_from_db()
    assert failed.status == "queued" and failed.attempts == 0
    assert staff_client.get(f"/admin/integrations/ipfsrecord/{pinned.pk}/change/").status_code == 200
