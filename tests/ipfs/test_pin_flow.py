"""IPFS records and the pin flow: a ready video's HLS folder, thumbnail and metadata pinned; deletes unpin;
a backend that is down is retried with backoff, ends failed with the error kept, and pins once it is back.

Tasks run in django-q2's sync mode here (the end-to-end test with a real cluster is marked slow).
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf

from integrations.ipfs.cid import cid_parse
from integrations.ipfs.importer import Importer, ImportParams
from integrations.localnet import free_port
from media_pipeline.models import Video
from media_pipeline.signals import video_deleting, video_ready
from pinning import services
from pinning.models import IPFSRecord
from tests.ipfs.hls import make_hls_folder
from tests.ipfs.pinning_server import PinningService

Status = IPFSRecord.Status


@pytest.fixture(scope="session")
def session_hls(make_clip, tmp_path_factory):
    return make_hls_folder(make_clip(seconds=3), tmp_path_factory.mktemp("hls-src") / "hls")


@pytest.fixture
def ipfs_settings(settings, media_root, tmp_path, monkeypatch):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "media" / "ipfs" / "blocks"
    settings.IPFS_BACKEND = "embedded"
    settings.IPFS_CLIENT_ATTEMPTS = 2
    monkeypatch.setattr(Conf, "SYNC", True)
    return settings


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(email="creator@example.com", password="pw-123456789")


def ready_video(user, settings, session_hls, title="Clip") -> Video:
    video = Video.objects.create(owner=user, title=title, duration=3.0, status=Video.Status.PROCESSING)
    folder = settings.MEDIA_ROOT / "hls" / str(video.pk)
    shutil.copytree(session_hls, folder)
    (settings.MEDIA_ROOT / "thumbnails").mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "thumbnails" / f"{video.pk}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with transaction.atomic():
        Video.objects.filter(pk=video.pk).update(status=Video.Status.READY, hls_path=f"hls/{video.pk}",
                                                 thumbnail=f"thumbnails/{video.pk}.jpg", ready_at=timezone.now())
        video.refresh_from_db()
        video_ready.send(sender=Video, video=video)
    return video


@pytest.mark.django_db(transaction=True)
def test_ready_video_is_pinned_with_metadata(ipfs_settings, user, session_hls, client):
    video = ready_video(user, ipfs_settings, session_hls)
    records = {record.role: record for record in IPFSRecord.objects.all()}
    assert set(records) == {"video_hls", "video_thumbnail", "video_metadata"}
    assert {record.status for record in records.values()} == {Status.PINNED}
    video.refresh_from_db()
    expected_hls = Importer(ImportParams.kubo(0)).add_directory(ipfs_settings.MEDIA_ROOT / video.hls_path).cid_str
    assert video.hls_cid == records["video_hls"].cid == expected_hls
    assert video.metadata_cid == records["video_metadata"].cid
    assert records["video_hls"].import_params["chunk_size"] == 262144
    assert records["video_hls"].linked_object == video
    metadata = json.loads(b"".join(client.get(f"/ipfs/{video.metadata_cid}").streaming_content))
    assert metadata["title"] == "Clip" and metadata["duration"] == 3.0
    assert metadata["hls"]["cid"] == video.hls_cid
    assert metadata["thumbnail"]["cid"] == records["video_thumbnail"].cid
    assert sorted(r["resolution"] for r in metadata["renditions"]) == ["160x120", "320x240"]
    assert all(r["bandwidth"] > 0 and r["codecs"] for r in metadata["renditions"])
    master = client.get(f"/ipfs/{video.hls_cid}/master.m3u8")
    assert b"".join(master.streaming_content) == (ipfs_settings.MEDIA_ROOT / video.hls_path / "master.m3u8").read_bytes()


@pytest.mark.django_db(transaction=True)
def test_rolled_back_ready_leaves_no_records(ipfs_settings, user):
    video = Video.objects.create(owner=user, title="x", status=Video.Status.PROCESSING)
    with pytest.raises(RuntimeError), transaction.atomic():
        video_ready.send(sender=Video, video=video)
        raise RuntimeError("the transcode's transaction failed")
    assert IPFSRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_deleting_a_video_unpins(ipfs_settings, user, session_hls):
    video = ready_video(user, ipfs_settings, session_hls)
    node = services.ipfs_node()
    video.refresh_from_db()
    assert video.hls_cid in node.pins()
    with transaction.atomic():
        video_deleting.send(sender=Video, video=video)
        video.delete()
    assert set(IPFSRecord.objects.values_list("status", flat=True)) == {Status.UNPINNED}
    assert node.pins() == []
    assert not node.has_block(cid_parse(video.hls_cid))  # the unpin collected its blocks
    assert node.gc().removed == 0


@pytest.mark.django_db(transaction=True)
def test_two_videos_with_the_same_output_share_one_pin(ipfs_settings, user, session_hls):
    first = ready_video(user, ipfs_settings, session_hls, title="Same")
    second = ready_video(user, ipfs_settings, session_hls, title="Same")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.hls_cid == second.hls_cid
    # one record per video (pins are counted across records), one pin in the node
    assert IPFSRecord.objects.filter(cid=first.hls_cid).count() == 2
    assert services.ipfs_node().pins().count(first.hls_cid) == 1
    with transaction.atomic():
        video_deleting.send(sender=Video, video=first)
        first.delete()
    assert first.hls_cid in services.ipfs_node().pins()  # the second video still needs it


@pytest.fixture
def pinning_port(ipfs_settings):
    port = free_port()
    ipfs_settings.IPFS_BACKEND = "pinning"
    ipfs_settings.PINNING_SERVICE_URL = f"http://127.0.0.1:{port}"
    ipfs_settings.PINNING_SERVICE_TOKEN = "token-1"
    ipfs_settings.IPFS_PIN_MAX_ATTEMPTS = 3
    return port


def upload(user, data: bytes = b"some bytes for a pin\n") -> IPFSRecord:
    import io

    return services.ipfs_upload_create(user=user, name="notes.txt", stream=io.BytesIO(data), size=len(data))


def let_time_pass(record: IPFSRecord, *, seconds: float) -> None:
    """Move the row's clock fields back instead of sleeping."""
    from django.db.models import F

    IPFSRecord.objects.filter(pk=record.pk).update(next_attempt_at=F("next_attempt_at") - timedelta(seconds=seconds),
                                                   enqueued_at=F("enqueued_at") - timedelta(seconds=seconds))


@pytest.mark.django_db(transaction=True)
def test_backend_down_retries_with_backoff_then_fails_with_the_error_kept(ipfs_settings, pinning_port, user):
    ipfs_settings.IPFS_PIN_RETRY_BASE_SECONDS = 30
    record = upload(user)
    record.refresh_from_db()
    assert record.status == Status.QUEUED and record.attempts == 1
    assert "connect" in record.last_error.lower()
    first_delay = record.next_attempt_at - timezone.now()
    assert timedelta(seconds=25) < first_delay <= timedelta(seconds=30)
    # not due yet: the sweeper leaves it alone
    assert services.ipfs_records_sweep()["requeued"] == 0
    let_time_pass(record, seconds=61)
    assert services.ipfs_records_sweep()["requeued"] == 1
    record.refresh_from_db()
    assert record.attempts == 2 and record.status == Status.QUEUED
    assert timedelta(seconds=55) < record.next_attempt_at - timezone.now() <= timedelta(seconds=60)  # doubled
    let_time_pass(record, seconds=61)
    services.ipfs_records_sweep()
    record.refresh_from_db()
    assert record.status == Status.FAILED and record.attempts == 3
    assert "gave up after 3 attempts" in record.last_error and "connect" in record.last_error.lower()
    assert services.ipfs_records_sweep()["requeued"] == 0  # failed stays failed

    # the service comes back on that port: the retry action pins it
    service = PinningService("token-1", port=pinning_port).start()
    try:
        services.ipfs_record_retry(record_id=record.pk)
        record.refresh_from_db()
        assert record.status == Status.PINNED, record.last_error
        assert record.remote_request_id in service.pins
        assert service.pins[record.remote_request_id]["pin"]["cid"] == record.cid
    finally:
        service.stop()


@pytest.mark.django_db(transaction=True)
def test_sweeper_pins_once_the_backend_is_back(ipfs_settings, pinning_port, user):
    ipfs_settings.IPFS_PIN_RETRY_BASE_SECONDS = 0
    record = upload(user)
    record.refresh_from_db()
    assert record.status == Status.QUEUED and record.last_error
    service = PinningService("token-1", port=pinning_port).start()
    try:
        assert services.ipfs_records_sweep()["requeued"] == 1
        record.refresh_from_db()
        assert record.status == Status.PINNED and record.last_error == ""
    finally:
        service.stop()


@pytest.mark.django_db(transaction=True)
def test_pinning_service_reports_failed(ipfs_settings, pinning_port, user):
    service = PinningService("token-1", port=pinning_port)
    service.start()
    try:
        data = b"this one the service cannot fetch\n"
        cid = services.ipfs_node().add_bytes(data, pin=False).cid_str
        service.fail_cids.add(cid)
        record = upload(user, data)
        record.refresh_from_db()
        assert record.status == Status.FAILED
        assert "failed" in record.last_error
    finally:
        service.stop()


@pytest.mark.django_db(transaction=True)
def test_worker_that_died_mid_pin_is_revived_by_the_sweeper(ipfs_settings, user):
    record = upload(user)  # embedded: pinned at once
    assert record.status == Status.PINNED
    IPFSRecord.objects.filter(pk=record.pk).update(status=Status.PINNING, heartbeat_at=timezone.now() - timedelta(minutes=10))
    counts = services.ipfs_records_sweep()
    assert counts["revived"] == 1
    record.refresh_from_db()
    assert record.status == Status.PINNED


@pytest.mark.django_db(transaction=True)
def test_missing_hls_folder_fails_without_retry(ipfs_settings, user):
    video = Video.objects.create(owner=user, title="gone", status=Video.Status.PROCESSING)
    with transaction.atomic():
        Video.objects.filter(pk=video.pk).update(status=Video.Status.READY, hls_path="hls/does-not-exist")
        video.refresh_from_db()
        video_ready.send(sender=Video, video=video)
    hls = IPFSRecord.objects.get(role="video_hls")
    assert hls.status == Status.FAILED and "import failed" in hls.last_error
    assert hls.attempts == 1


def test_sweeper_schedule_exists(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="ipfs-records-sweep")
    assert schedule.func == "pinning.tasks.ipfs_records_sweep"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


@pytest.mark.django_db(transaction=True)
def test_unpin_on_the_pinning_service_deletes_the_request(ipfs_settings, pinning_port, user):
    service = PinningService("token-1", port=pinning_port).start()
    try:
        record = upload(user, b"to be removed\n")
        record.refresh_from_db()
        assert record.status == Status.PINNED and record.remote_request_id in service.pins
        services.ipfs_record_unpin_request(record_id=record.pk, user=user)
        record.refresh_from_db()
        assert record.status == Status.UNPINNED
        assert record.remote_request_id not in service.pins
        assert ("DELETE", f"/pins/{record.remote_request_id}") in service.requests
    finally:
        service.stop()


@pytest.mark.django_db(transaction=True)
def test_only_the_uploader_may_unpin(ipfs_settings, user, django_user_model):
    from core.errors import PermissionDenied

    record = upload(user)
    other = django_user_model.objects.create_user(email="other@example.com", password="pw-123456789")
    with pytest.raises(PermissionDenied):
        services.ipfs_record_unpin_request(record_id=record.pk, user=other)
    assert IPFSRecord.objects.get(pk=record.pk).status == Status.PINNED


@pytest.mark.django_db(transaction=True)
def test_paid_and_private_videos_are_not_pinned(ipfs_settings, user, session_hls):
    for visibility, extra in (("private", {}), ("paid", {"price": 10**18})):
        video = Video.objects.create(owner=user, title=visibility, visibility=visibility, **extra)
        with transaction.atomic():
            video_ready.send(sender=Video, video=video)
    assert IPFSRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_heartbeat_is_stamped_during_a_long_backend_call(ipfs_settings, user):
    """The beat runs on its own thread while the backend call blocks (a sleep stands in for a slow upload)."""
    import time as clock

    stale_beat = timezone.now() - timedelta(minutes=10)
    record = IPFSRecord.objects.create(name="x", kind="file", backend="embedded", status=Status.PINNING,
                                       heartbeat_at=stale_beat)
    with services._beating(record.pk, every=0.05):
        clock.sleep(0.3)
    record.refresh_from_db()
    assert record.heartbeat_at > stale_beat
    assert services.ipfs_records_sweep()["revived"] == 0  # a beating pin is not taken for dead
