"""End to end: a ready video pinned by a real django-q2 cluster; the Kubo backend pinning into a real js-ipfs."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_q.conf import Conf

from integrations.ipfs.kubo import KuboRPCClient
from media_pipeline.models import Video
from pinning.models import IPFSRecord
from tests.fixtures.processes import wait_for
from tests.ipfs.test_pin_flow import ready_video, session_hls  # noqa: F401


@pytest.mark.slow
def test_cluster_pins_a_ready_video(q_cluster_factory, settings, media_root, tmp_path, django_user_model, session_hls):  # noqa: F811
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "media" / "ipfs" / "blocks"
    settings.IPFS_BACKEND = "embedded"
    q_cluster_factory(env={"MEDIA_ROOT": str(settings.MEDIA_ROOT), "IPFS_BLOCKSTORE_DIR": str(settings.IPFS_BLOCKSTORE_DIR),
                           "IPFS_BACKEND": "embedded"})
    user = django_user_model.objects.create_user(email="e2e@example.com", password="pw-123456789")
    video = ready_video(user, settings, session_hls)
    wait_for(lambda: IPFSRecord.objects.filter(status="pinned").count() == 3, timeout=90, what="three pinned records")
    video.refresh_from_db()
    assert video.hls_cid and video.metadata_cid
    assert IPFSRecord.objects.get(role="video_hls").cid == video.hls_cid


@pytest.mark.django_db(transaction=True)
def test_kubo_backend_pin_flow_into_js_ipfs(js_ipfs, settings, media_root, tmp_path, django_user_model, monkeypatch, session_hls):  # noqa: F811
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "media" / "ipfs" / "blocks"
    settings.IPFS_BACKEND = "kubo"
    settings.IPFS_API_URL = js_ipfs
    monkeypatch.setattr(Conf, "SYNC", True)
    user = django_user_model.objects.create_user(email="kubo@example.com", password="pw-123456789")
    video = ready_video(user, settings, session_hls)
    records = list(IPFSRecord.objects.all())
    assert {record.status for record in records} == {"pinned"}, [record.last_error for record in records]
    video.refresh_from_db()
    pins = KuboRPCClient(js_ipfs).pin_ls()
    assert video.hls_cid in pins and video.metadata_cid in pins
    with transaction.atomic():
        from media_pipeline.signals import video_deleting

        video_deleting.send(sender=Video, video=video)
        video.delete()
    assert video.hls_cid not in KuboRPCClient(js_ipfs).pin_ls()
