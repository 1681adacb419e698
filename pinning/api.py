"""IPFS API (mounted at /api/ipfs): upload a file or JSON, list my records, a record with its gateway URL, retry."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from django.conf import settings
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from accounts.auth import upload_auth, user_auth
from core.errors import PayloadTooLarge
from core.schemas import ErrorOut
from pinning import selectors, services
from integrations.ipfs.node import canonical_json
from pinning.models import IPFSRecord

router = Router(tags=["ipfs"], auth=user_auth)
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class RecordOut(Schema):
    id: int
    cid: str
    kind: str
    name: str
    size: int | None
    backend: str
    status: str
    attempts: int
    last_error: str
    import_params: dict
    gateway_url: str
    created_at: datetime
    pinned_at: datetime | None


class UploadIn(Schema):
    name: str = ""


class JSONUploadIn(Schema):
    name: str
    data: Any


@router.post("/uploads", response={201: RecordOut, **ERRORS}, summary="Upload a file to IPFS", auth=upload_auth)
def upload_file(request, payload: Form[UploadIn], file: File[UploadedFile]):
    """Imports the file (Kubo-identical CID) and pins it on the configured backend. Limit: IPFS_UPLOAD_MAX_BYTES."""
    record = services.ipfs_upload_create(user=request.user, name=payload.name or file.name, stream=file.file,
                                         size=file.size)
    return Status(201, record)


@router.post("/json", response={201: RecordOut, **ERRORS}, summary="Pin a JSON document", auth=upload_auth)
def upload_json(request, payload: JSONUploadIn):
    """Stored as canonical JSON (sorted keys, no spaces), so the same value always gets the same CID."""
    data = canonical_json(payload.data)
    if len(data) > settings.IPFS_UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(f"The JSON is {len(data)} bytes; the limit is {settings.IPFS_UPLOAD_MAX_BYTES} bytes.")
    record = services.ipfs_upload_create(user=request.user, name=payload.name, stream=io.BytesIO(data), size=len(data),
                                         kind=IPFSRecord.Kind.JSON)
    return Status(201, record)


@router.get("/records", response=list[RecordOut], summary="My IPFS records")
@paginate
def list_records(request, status: str | None = None):
    return selectors.ipfs_records_visible(user=request.user, status=status)


@router.get("/records/{record_id}", response={200: RecordOut, **ERRORS}, summary="One record, with its gateway URL")
def get_record(request, record_id: int):
    return selectors.ipfs_record_visible(user=request.user, record_id=record_id)


@router.post("/records/{record_id}/retry", response={200: RecordOut, **ERRORS}, summary="Retry a failed pin")
def retry_record(request, record_id: int):
    selectors.ipfs_record_visible(user=request.user, record_id=record_id)
    return services.ipfs_record_retry(record_id=record_id)


@router.delete("/records/{record_id}", response={200: RecordOut, **ERRORS}, summary="Unpin one of my records")
def unpin_record(request, record_id: int):
    """Unpins on the backend in the background (status `unpinning`, then `unpinned`)."""
    selectors.ipfs_record_visible(user=request.user, record_id=record_id)
    return services.ipfs_record_unpin_request(record_id=record_id, user=request.user)
