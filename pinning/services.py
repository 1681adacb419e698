"""What the pinning app does with IPFS: uploads, pins of a video's HLS folder and metadata, unpins, sweeps.

An `IPFSRecord` row is the job. Pins run in django-q2 tasks that carry only the
row id; `core.jobs.claim` moves a row queued → pinning in one conditional
UPDATE so two workers never pin the same row. A failed attempt goes back to
queued with a growing `next_attempt_at` (and its error kept) until
IPFS_PIN_MAX_ATTEMPTS, then ends failed; the scheduled sweeper (`core.jobs.sweep_stale`
plus the pin-specific rings) requeues rows that are due or whose worker stopped beating.
A video's CID fields are written by `media_pipeline.services.video_ipfs_cids_set`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import m3u8
from django.conf import settings
from django import db
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.errors import NotFound, PayloadTooLarge, PermissionDenied, ServiceError
from core.jobs import DEFAULT_QUEUE, claim, enqueue_on_commit, retry_delay, stale, sweep_stale
from integrations.ipfs.backends import (
    BackendError,
    Content,
    EmbeddedBackend,
    IPFSBackend,
    KuboBackend,
    PinningServiceBackend,
)
from integrations.ipfs.cid import cid_parse
from integrations.ipfs.importer import ImportParams
from integrations.ipfs.kubo import KuboRPCClient
from integrations.ipfs.node import EmbeddedNode, IPFSError, canonical_json
from integrations.ipfs.pinning import PinningServiceClient
from media_pipeline.services import storage_quota_check, video_ipfs_cids_set
from pinning.models import IPFSRecord

logger = logging.getLogger(__name__)
Status = IPFSRecord.Status
# A pinning worker stamps its heartbeat at least this often; older means it died.
STALE_AFTER = timedelta(minutes=5)
# How long a pin task waits on a remote pinning service before leaving the polling to the sweeper.
POLL_WINDOW_SECONDS = 20.0
# The longest wait between two attempts of a failed pin or unpin.
RETRY_MAX_SECONDS = 6 * 3600
# Which field of its video a pinned record's CID fills (a thumbnail's CID is in the metadata JSON).
VIDEO_CID_FIELDS = {IPFSRecord.Role.VIDEO_HLS: "hls_cid", IPFSRecord.Role.VIDEO_METADATA: "metadata_cid"}


# -- parts, built from settings ----------------------------------------------------
def ipfs_node() -> EmbeddedNode:
    return EmbeddedNode(settings.IPFS_BLOCKSTORE_DIR)


def ipfs_settings_cid_version() -> int:
    return settings.IPFS_CID_VERSION


def ipfs_import_params() -> ImportParams:
    return ImportParams.kubo(ipfs_settings_cid_version())


def ipfs_backend(name: str | None = None) -> IPFSBackend:
    name = name or settings.IPFS_BACKEND
    if name == "embedded":
        return EmbeddedBackend(ipfs_node())
    if name == "kubo":
        return KuboBackend(KuboRPCClient(settings.IPFS_API_URL, timeout=settings.IPFS_TIMEOUT,
                                         attempts=settings.IPFS_CLIENT_ATTEMPTS))
    if name == "pinning":
        return PinningServiceBackend(PinningServiceClient(settings.PINNING_SERVICE_URL, settings.PINNING_SERVICE_TOKEN,
                                                          timeout=settings.IPFS_TIMEOUT,
                                                          attempts=settings.IPFS_CLIENT_ATTEMPTS))
    raise ServiceError(f"unknown IPFS_BACKEND {name!r} (use embedded, kubo or pinning)")


def ipfs_health() -> tuple[bool, str]:
    return ipfs_backend().health()


# -- queueing ---------------------------------------------------------------------
def _enqueue(record_id: int, task: str = "ipfs_record_pin") -> None:
    """Ring the doorbell after commit on the default queue; the row already says what to do."""
    enqueue_on_commit(f"pinning.tasks.{task}", record_id, queue=DEFAULT_QUEUE,
                      stamp=IPFSRecord.objects.filter(pk=record_id))


def ipfs_upload_create(*, user, name: str, stream, size: int, kind: str = IPFSRecord.Kind.FILE) -> IPFSRecord:
    """Import an uploaded file (or JSON bytes) into the embedded node and record a pin of it for `user`.

    The record is the uploader's own, even when another record already holds the same CID: content is
    public by its CID, records (names, status, the right to unpin) are not. Pins are counted by CID.
    """
    if size > settings.IPFS_UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(f"The upload is {size} bytes; the limit is {settings.IPFS_UPLOAD_MAX_BYTES} bytes.")
    storage_quota_check(user=user, adding=size)  # the quota counts videos and uploads alike
    name = (name or "upload").strip()[:255] or "upload"
    params = ipfs_import_params()
    added = ipfs_node().add_stream(stream, params=params)
    backend = settings.IPFS_BACKEND
    embedded = backend == "embedded"  # the add above pinned it locally: nothing left to do in the background
    now = timezone.now()
    with transaction.atomic():
        record = IPFSRecord.objects.create(
            cid=added.cid_str, backend=backend, kind=kind, name=name, size=added.size, import_params=params.as_dict(),
            role=IPFSRecord.Role.UPLOAD, uploaded_by=user, status=Status.PINNED if embedded else Status.QUEUED,
            pinned_at=now if embedded else None, next_attempt_at=None if embedded else now)
        if not embedded:
            _enqueue(record.pk)
    return record


def ipfs_video_records_queue(*, video) -> list[IPFSRecord]:
    """Records for a video that became ready (HLS folder, thumbnail, metadata JSON), queued in the caller's transaction.

    Anyone who knows a CID can fetch its content from any IPFS gateway (ours included), so private and paid
    videos are not pinned unless IPFS_PIN_VISIBILITIES says so.
    """
    if video.visibility not in settings.IPFS_PIN_VISIBILITIES:
        return []
    content_type = ContentType.objects.get_for_model(video)
    wanted = [(IPFSRecord.Role.VIDEO_HLS, IPFSRecord.Kind.DIRECTORY, f"{video.title} (HLS)", video.hls_path)]
    if video.thumbnail:
        wanted.append((IPFSRecord.Role.VIDEO_THUMBNAIL, IPFSRecord.Kind.FILE, f"{video.title} (thumbnail)", video.thumbnail))
    wanted.append((IPFSRecord.Role.VIDEO_METADATA, IPFSRecord.Kind.JSON, f"{video.title} (metadata)", ""))
    records = []
    now = timezone.now()
    with transaction.atomic():
        for role, kind, name, source in wanted:
            record = (IPFSRecord.objects.select_for_update()
                      .filter(content_type=content_type, object_id=video.pk, role=role)
                      .exclude(status__in=[Status.UNPINNING, Status.UNPINNED]).first())
            if record is None:
                record = IPFSRecord.objects.create(
                    kind=kind, role=role, name=name[:255], source_path=source, backend=settings.IPFS_BACKEND,
                    content_type=content_type, object_id=video.pk, next_attempt_at=now)
            elif record.status != Status.PINNING:
                # ready again (e.g. re-transcoded): import the new output; the video links no CID until it is pinned
                _video_cid_forget(record)
                record.source_path, record.name, record.cid = source, name[:255], ""
                record.status, record.attempts, record.last_error, record.next_attempt_at = Status.QUEUED, 0, "", now
                record.save()
            records.append(record)
            _enqueue(record.pk)
    return records


def ipfs_record_retry(*, record_id: int) -> IPFSRecord:
    """Try a failed pin again now (admin action, API, `ipfs pin --retry`)."""
    with transaction.atomic():
        updated = IPFSRecord.objects.filter(pk=record_id, status=Status.FAILED).update(
            status=Status.QUEUED, attempts=0, next_attempt_at=timezone.now(), last_error="")
        if not updated:
            record = IPFSRecord.objects.filter(pk=record_id).first()
            if record is None:
                raise NotFound(f"IPFS record {record_id} does not exist.")
            raise ServiceError(f"Only failed pins can be retried; this one is {record.status}.", code="not_failed")
        _enqueue(record_id)
    return IPFSRecord.objects.get(pk=record_id)


# -- the pin job ---------------------------------------------------------------------
def _media_path(relative: str) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if not relative or root not in path.parents:
        raise ValueError(f"{relative!r} is not a path inside MEDIA_ROOT")
    return path


def _heartbeat_every(record_id: int, seconds: float = 5.0):
    last = [time.monotonic()]

    def beat(_bytes: int) -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            IPFSRecord.objects.filter(pk=record_id, status=Status.PINNING).update(heartbeat_at=timezone.now())

    return beat


@contextlib.contextmanager
def _beating(record_id: int, every: float = 30.0):
    """Keep stamping the heartbeat while a long call (an upload to Kubo) runs, so the sweeper leaves it be."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(every):
                IPFSRecord.objects.filter(pk=record_id, status=Status.PINNING).update(heartbeat_at=timezone.now())
        finally:
            db.connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"ipfs-heartbeat-{record_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def video_metadata(*, video, hls_cid: str, thumbnail_cid: str | None) -> dict:
    """The metadata JSON of a video: title, duration, renditions (from its master playlist), CIDs."""
    playlist = m3u8.load(str(_media_path(video.hls_path) / "master.m3u8"))
    renditions = []
    for variant in playlist.playlists:
        info = variant.stream_info
        renditions.append({
            "uri": variant.uri,
            "bandwidth": info.bandwidth,
            "average_bandwidth": info.average_bandwidth,
            "resolution": "x".join(str(part) for part in info.resolution) if info.resolution else None,
            "codecs": info.codecs,
            "frame_rate": info.frame_rate,
        })
    return {
        "schema": "flowcast.video.v1",
        "title": video.title,
        "duration": video.duration,
        "hls": {"cid": hls_cid, "master": "master.m3u8"},
        "renditions": renditions,
        "thumbnail": {"cid": thumbnail_cid} if thumbnail_cid else None,
    }


def _local_content(record: IPFSRecord, node: EmbeddedNode, params: ImportParams) -> tuple[Content, int | None]:
    """Import the record's content into the embedded node (idempotent) and say what to pin."""
    progress = _heartbeat_every(record.pk)
    if record.role == IPFSRecord.Role.VIDEO_METADATA:
        video = record.linked_object
        if video is None:
            raise ValueError("the video of this metadata record no longer exists")
        hls = node.add_directory(_media_path(video.hls_path), params=params, progress=progress)
        thumbnail = node.add_file(_media_path(video.thumbnail), params=params) if video.thumbnail else None
        data = canonical_json(video_metadata(video=video, hls_cid=hls.cid_str,
                                             thumbnail_cid=thumbnail.cid_str if thumbnail else None))
        added = node.add_bytes(data, params=params)
        return Content(cid=added.cid_str, kind=record.kind, name=record.name, params=params, data=data), added.size
    if record.kind == IPFSRecord.Kind.DIRECTORY:
        path = _media_path(record.source_path)
        added = node.add_directory(path, params=params, progress=progress)
        return Content(cid=added.cid_str, kind=record.kind, name=record.name, params=params, path=path), added.size
    if record.source_path:
        path = _media_path(record.source_path)
        added = node.add_file(path, params=params, progress=progress)
        return Content(cid=added.cid_str, kind=record.kind, name=record.name, params=params, path=path), added.size
    # an API upload: already in the node, under its CID
    cid = cid_parse(record.cid)
    if node.missing_blocks(cid):
        raise ValueError("the uploaded content is no longer in the embedded node")
    data = b"".join(node.cat(cid)) if record.kind == IPFSRecord.Kind.JSON else None
    path = None
    if data is None:
        import tempfile

        with tempfile.NamedTemporaryFile(delete=False, suffix="-" + Path(record.name).name) as handle:
            for chunk in node.cat(cid):
                handle.write(chunk)
            path = Path(handle.name)
    params = ImportParams(**record.import_params) if record.import_params else params
    return Content(cid=record.cid, kind=record.kind, name=record.name, params=params, path=path, data=data), record.size


def ipfs_record_pin(*, record_id: int) -> str:
    """Pin one record (the django-q2 task's body). Returns the status it left the row in."""
    if not claim(IPFSRecord.objects, pk=record_id, field="status", from_values=[Status.QUEUED], to_value=Status.PINNING):
        return "not-claimed"
    record = IPFSRecord.objects.get(pk=record_id)
    params = ImportParams(**record.import_params) if record.import_params else ipfs_import_params()
    temporary: Path | None = None
    try:
        try:
            content, size = _local_content(record, ipfs_node(), params)
            if record.role == IPFSRecord.Role.UPLOAD and content.path is not None and not record.source_path:
                temporary = content.path
        except (OSError, ValueError, IPFSError) as error:
            return _record_failed(record_id, f"import failed: {error}")
        _record_set_cid(record, content.cid, size, params)
        try:
            with _beating(record_id):
                outcome = ipfs_backend(record.backend).pin(content)
        except BackendError as error:
            if error.transient:
                return _record_retry_later(record_id, str(error))
            return _record_failed(record_id, str(error))
        return _record_outcome(record_id, outcome)
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _record_set_cid(record: IPFSRecord, cid: str, size: int | None, params: ImportParams) -> None:
    """Store the imported CID (other records may hold the same one: pins are counted across records)."""
    IPFSRecord.objects.filter(pk=record.pk).update(cid=cid, size=size, import_params=params.as_dict(),
                                                   heartbeat_at=timezone.now())
    record.cid = cid


def _video_record_cid_set(record: IPFSRecord, cid: str) -> None:
    """Tell the record's video where its HLS folder or metadata now is ("" once it is no longer pinned)."""
    field = VIDEO_CID_FIELDS.get(record.role)
    if field and record.object_id:
        video_ipfs_cids_set(video_id=record.object_id, **{field: cid})


def _video_cid_forget(record: IPFSRecord) -> None:
    _video_record_cid_set(record, "")


def _record_outcome(record_id: int, outcome) -> str:
    if outcome.status == "pinned":
        with transaction.atomic():
            done = IPFSRecord.objects.filter(pk=record_id, status=Status.PINNING).update(
                status=Status.PINNED, pinned_at=timezone.now(), last_error="", remote_request_id=outcome.request_id or F("remote_request_id"),
                heartbeat_at=timezone.now())
            record = IPFSRecord.objects.get(pk=record_id)
            if done:
                _video_record_cid_set(record, record.cid)
            elif record.status == Status.UNPINNING:
                _enqueue(record_id, "ipfs_record_unpin")  # deleted while we pinned: undo it
        return record.status
    if outcome.status == "failed":
        return _record_failed(record_id, f"the backend reports the pin failed {outcome.detail}".strip())
    IPFSRecord.objects.filter(pk=record_id, status=Status.PINNING).update(
        remote_request_id=outcome.request_id, heartbeat_at=timezone.now(), last_error="")
    return _poll_until(record_id, deadline=time.monotonic() + POLL_WINDOW_SECONDS)


def _poll_until(record_id: int, *, deadline: float) -> str:
    wait = 0.2
    while True:
        record = IPFSRecord.objects.get(pk=record_id)
        if record.status != Status.PINNING:
            return record.status
        try:
            outcome = ipfs_backend(record.backend).status(cid=record.cid, request_id=record.remote_request_id)
        except BackendError as error:
            if error.transient:
                IPFSRecord.objects.filter(pk=record_id).update(last_error=str(error))
                return Status.PINNING  # the sweeper polls again later
            return _record_failed(record_id, str(error))
        if outcome.status in ("pinned", "failed"):
            return _record_outcome(record_id, outcome)
        IPFSRecord.objects.filter(pk=record_id, status=Status.PINNING).update(heartbeat_at=timezone.now())
        if time.monotonic() + wait > deadline:
            return Status.PINNING
        time.sleep(wait)
        wait = min(wait * 2, 5.0)


def ipfs_record_poll(*, record_id: int) -> str:
    """Ask a remote pinning service how a pin it accepted is going (scheduled by the sweeper)."""
    return _poll_until(record_id, deadline=time.monotonic() + POLL_WINDOW_SECONDS)


def _record_failed(record_id: int, error: str) -> str:
    IPFSRecord.objects.filter(pk=record_id).update(status=Status.FAILED, last_error=error[:5000], heartbeat_at=timezone.now())
    logger.warning("IPFS pin of record %s failed: %s", record_id, error)
    return Status.FAILED


def pin_retry_delay(attempts: int) -> timedelta:
    return retry_delay(attempts, base_seconds=settings.IPFS_PIN_RETRY_BASE_SECONDS, max_seconds=RETRY_MAX_SECONDS)


def _record_retry_later(record_id: int, error: str) -> str:
    record = IPFSRecord.objects.get(pk=record_id)
    if record.attempts >= settings.IPFS_PIN_MAX_ATTEMPTS:
        return _record_failed(record_id, f"gave up after {record.attempts} attempts: {error}")
    IPFSRecord.objects.filter(pk=record_id, status=Status.PINNING).update(
        status=Status.QUEUED, last_error=error[:5000], next_attempt_at=timezone.now() + pin_retry_delay(record.attempts))
    return Status.QUEUED


# -- unpinning ---------------------------------------------------------------------------
# Records that still want their CID pinned (on their backend, and so in the embedded node too).
LIVE_STATUSES = (Status.QUEUED, Status.PINNING, Status.PINNED)


def _records_unpin(records) -> int:
    """Mark records unpinning (in the caller's transaction) and ring the doorbell on commit."""
    count = 0
    for record in records:
        if record.status in (Status.UNPINNING, Status.UNPINNED):
            continue
        IPFSRecord.objects.filter(pk=record.pk).update(status=Status.UNPINNING, attempts=0, last_error="",
                                                       next_attempt_at=timezone.now())
        _video_cid_forget(record)  # no page links a CID that is going away
        _enqueue(record.pk, "ipfs_record_unpin")
        count += 1
    return count


def _video_records(video):
    content_type = ContentType.objects.get_for_model(video)
    return IPFSRecord.objects.select_for_update().filter(content_type=content_type, object_id=video.pk)


def ipfs_video_records_unpin(*, video) -> int:
    """Before a video is deleted: unpin its records (a CID another record still uses stays pinned for it)."""
    with transaction.atomic():
        return _records_unpin(list(_video_records(video)))


def ipfs_video_visibility_changed(*, video, previous: str) -> int:
    """A video's visibility changed (called in the transaction that saved it).

    Leaving IPFS_PIN_VISIBILITIES (made paid or private): its pins are removed and its CIDs forgotten by
    the video, so no page or API links them; anyone holding a CID gets a 404 from our gateway once the
    unpin task's gc has run. Coming back: a ready video is pinned again. Returns the records changed.
    """
    pinned_before = previous in settings.IPFS_PIN_VISIBILITIES
    if video.visibility in settings.IPFS_PIN_VISIBILITIES:
        if video.hls_path and not pinned_before:  # public ↔ unlisted: the pins it has stay as they are
            return len(ipfs_video_records_queue(video=video))
        return 0
    with transaction.atomic():
        video_ipfs_cids_set(video_id=video.pk, hls_cid="", metadata_cid="")
        video.hls_cid = video.metadata_cid = ""
        return _records_unpin(list(_video_records(video)))


def _cid_still_wanted(record: IPFSRecord, *, backend: str | None) -> bool:
    others = IPFSRecord.objects.filter(cid=record.cid, status__in=LIVE_STATUSES).exclude(pk=record.pk)
    if backend is not None:
        others = others.filter(backend=backend)
    return others.exists()


def ipfs_record_unpin(*, record_id: int) -> str:
    """Unpin one record (the task's body): on its backend and in the embedded node, unless another record
    still pins the same CID; then collect the embedded node's garbage so the gateway stops serving it."""
    record = IPFSRecord.objects.filter(pk=record_id, status=Status.UNPINNING).first()
    if record is None:
        return "not-unpinning"
    IPFSRecord.objects.filter(pk=record_id).update(heartbeat_at=timezone.now(), attempts=F("attempts") + 1)
    if record.cid:
        if not _cid_still_wanted(record, backend=record.backend):
            try:
                ipfs_backend(record.backend).unpin(cid=record.cid, request_id=record.remote_request_id)
            except BackendError as error:
                IPFSRecord.objects.filter(pk=record_id).update(
                    last_error=str(error)[:5000], next_attempt_at=timezone.now() + pin_retry_delay(record.attempts + 1))
                return Status.UNPINNING
        if not _cid_still_wanted(record, backend=None):
            node = ipfs_node()
            if node.unpin(cid_parse(record.cid)) or record.backend == "embedded":
                node.gc()  # the blocks go with the pin: the gateway answers 404 for them
    IPFSRecord.objects.filter(pk=record_id, status=Status.UNPINNING).update(status=Status.UNPINNED, last_error="")
    return Status.UNPINNED


def ipfs_record_unpin_request(*, record_id: int, user=None) -> IPFSRecord:
    """Unpin on request (command, API): the record's uploader or staff (the command passes no user)."""
    with transaction.atomic():
        record = IPFSRecord.objects.select_for_update().filter(pk=record_id).first()
        if record is None:
            raise NotFound(f"IPFS record {record_id} does not exist.")
        if user is not None and not user.is_staff and record.uploaded_by_id != user.pk:
            raise PermissionDenied("You may only unpin your own uploads.")
        _records_unpin([record])
    return IPFSRecord.objects.get(pk=record_id)


# -- the sweeper ---------------------------------------------------------------------------
def _record_lease_given_up(record: IPFSRecord) -> bool:
    """Out of attempts and its worker gone: fail it, unless a worker claimed it meanwhile."""
    error = f"gave up after {record.attempts} attempts: the worker stopped beating"
    return bool(IPFSRecord.objects.filter(pk=record.pk, status=Status.PINNING, attempts=record.attempts).update(
        status=Status.FAILED, last_error=error, heartbeat_at=timezone.now()))


def ipfs_records_sweep() -> dict[str, int]:
    """Requeue what a lost message or a dead worker left behind (scheduled every minute).

    The lease and the lost doorbell are the one sweeper shape (`core.jobs.sweep_stale`); beside it, what
    only pins have: retries that came due, remote pins to ask about again, unpins to try again.
    """
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    # queued and due, and not handed to the queue since it became due
    retries = IPFSRecord.objects.filter(due, status=Status.QUEUED).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("next_attempt_at")))
    retry_ids = list(retries.values_list("pk", flat=True))
    for record_id in retry_ids:
        _enqueue(record_id)
    # A worker died while importing or pinning (back to the queue, or failed when out of attempts), or a queued
    # row's message was lost: due, not handed to the queue within a lease, not waiting on a remote service.
    leased = (IPFSRecord.objects.filter(due).exclude(pk__in=retry_ids)
              .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - STALE_AFTER))
              .filter(~Q(status=Status.PINNING) | Q(remote_request_id="")))
    swept = sweep_stale(
        leased, task="pinning.tasks.ipfs_record_pin", queue=DEFAULT_QUEUE, field="status", running=Status.PINNING,
        waiting=Status.QUEUED, lease=STALE_AFTER, max_attempts=settings.IPFS_PIN_MAX_ATTEMPTS,
        requeue_fields={"next_attempt_at": now, "last_error": "the worker stopped beating; queued again"},
        give_up=_record_lease_given_up)
    counts = {"requeued": len(retry_ids) + swept.rung, "revived": swept.requeued, "given_up": swept.failed,
              "polled": 0, "unpins": 0}
    # a remote pinning service is working on it: ask again
    waiting = stale(IPFSRecord.objects.exclude(remote_request_id=""), field="status", values=[Status.PINNING],
                    older_than=timedelta(minutes=1))
    for record_id in waiting.values_list("pk", flat=True):
        _enqueue(record_id, "ipfs_record_poll")
        counts["polled"] += 1
    unpins = IPFSRecord.objects.filter(due, status=Status.UNPINNING).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - timedelta(minutes=1)))
    for record_id in unpins.values_list("pk", flat=True):
        _enqueue(record_id, "ipfs_record_unpin")
        counts["unpins"] += 1
    return counts
