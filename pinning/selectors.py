"""Reads of the pinning app: whose records a user sees, how many bytes their uploads hold."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet, Sum

from core.errors import NotFound
from media_pipeline.models import Video
from pinning.models import IPFSRecord


def ipfs_records(*, status: str | None = None) -> QuerySet[IPFSRecord]:
    """Every record (the operator's view), in `status` if given; newest first."""
    records = IPFSRecord.objects.all()
    if status:
        records = records.filter(status=status)
    return records.order_by("-created_at", "-id")


def ipfs_records_visible(*, user, status: str | None = None) -> QuerySet[IPFSRecord]:
    """Staff see every record; a user the ones they uploaded and those of their videos. Newest first."""
    records = ipfs_records(status=status)
    if user.is_staff:
        return records
    video_type = ContentType.objects.get_for_model(Video)
    mine = IPFSRecord.objects.filter(
        Q(uploaded_by=user) | Q(content_type=video_type, object_id__in=Video.objects.filter(owner=user).values("pk"))
    ).values("pk")
    return records.filter(pk__in=mine)


def ipfs_record_visible(*, user, record_id: int) -> IPFSRecord:
    """One record `user` may see; NotFound otherwise (whether it exists is nobody else's business)."""
    record = ipfs_records_visible(user=user).filter(pk=record_id).first()
    if record is None:
        raise NotFound("No such IPFS record.")
    return record


def ipfs_upload_bytes(*, user) -> int:
    """Bytes of `user`'s IPFS uploads still pinned or on the way (their storage quota counts them)."""
    live = IPFSRecord.objects.filter(uploaded_by=user).exclude(
        status__in=[IPFSRecord.Status.UNPINNING, IPFSRecord.Status.UNPINNED])
    return live.aggregate(total=Sum("size"))["total"] or 0
