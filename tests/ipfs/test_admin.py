"""The IPFS records admin: list with gateway links, retry action with readable messages."""

from __future__ import annotations

import re

import pytest

from pinning.models import IPFSRecord


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
    page = staff_client.get("/admin/pinning/ipfsrecord/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "connection refused" in html and "/ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o" in html
    response = staff_client.post("/admin/pinning/ipfsrecord/", {
        "action": "retry_failed", "_selected_action": [failed.pk, pinned.pk]}, follow=True)
    messages = [str(message) for message in response.context["messages"]]
    assert any("1 pin(s) queued again" in message for message in messages)
    assert any("Only failed pins can be retried" in message for message in messages)
    failed.refresh_from_db()
    assert failed.status == "queued" and failed.attempts == 0
    assert staff_client.get(f"/admin/pinning/ipfsrecord/{pinned.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_status_colours_gateway_links_and_the_video_they_belong_to(staff_client, settings, tmp_path):
    from django.contrib.contenttypes.models import ContentType

    from media_pipeline.models import Video

    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "blocks"
    owner = staff_client.get("/admin/").wsgi_request.user
    video = Video.objects.create(owner=owner, title="linked")
    hls = IPFSRecord.objects.create(name="linked (HLS)", kind="directory", role="video_hls", backend="embedded",
                                    status="pinned", cid="QmeCjAMPNFRJbC3eE5TcrKiQtBYAk2ig52kTaGnkRghLLX",
                                    content_type=ContentType.objects.get_for_model(Video), object_id=video.pk)
    IPFSRecord.objects.create(name="queued one", kind="file", backend="embedded", status="queued")
    IPFSRecord.objects.create(name="broken", kind="file", backend="kubo", status="failed", attempts=6,
                              last_error="gave up after 6 attempts: Kubo add failed")

    listing = staff_client.get("/admin/pinning/ipfsrecord/").content.decode()
    assert "status-ok" in listing and "status-waiting" in listing and "status-bad" in listing
    video_url = f"/admin/media_pipeline/video/{video.pk}/change/"
    assert video_url in listing

    detail = staff_client.get(f"/admin/pinning/ipfsrecord/{hls.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    gateway = f"{settings.IPFS_GATEWAY_URL.rstrip('/')}/{hls.cid}/"
    assert f'href="{gateway}"' in html and f'href="{gateway}master.m3u8"' in html
    assert video_url in html
    assert re.search(r'class="status-badge status-ok"[^>]*>Pinned</span>', html)  # the badge, not the "Pinned at" label
