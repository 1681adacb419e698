"""Receivers: a ready video gets its pins queued, a deleted one (or one no longer public) its pins removed
(dispatch only: the service writes the rows in the sender's transaction and queues their tasks on commit);
the storage quota asks how many bytes a user's uploads hold."""

from django.dispatch import receiver

from media_pipeline.signals import storage_counting, video_deleting, video_ready, video_visibility_changed
from pinning import selectors, services


@receiver(video_ready, dispatch_uid="pinning.video_ready")
def queue_video_pins(sender, video, **kwargs):
    # rows written in the sender's transaction; tasks queued on commit by the service
    services.ipfs_video_records_queue(video=video)


@receiver(video_deleting, dispatch_uid="pinning.video_deleting")
def unpin_video(sender, video, **kwargs):
    services.ipfs_video_records_unpin(video=video)


@receiver(video_visibility_changed, dispatch_uid="pinning.video_visibility_changed")
def follow_video_visibility(sender, video, previous, **kwargs):
    services.ipfs_video_visibility_changed(video=video, previous=previous)


@receiver(storage_counting, dispatch_uid="pinning.storage_counting")
def count_uploads(sender, user, **kwargs) -> int:
    return selectors.ipfs_upload_bytes(user=user)
