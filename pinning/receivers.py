"""Receivers: a ready video gets its pins queued, a deleted one (or one no longer public) its pins removed
(dispatch only: the service writes the rows in the sender's transaction and queues their tasks on commit)."""

from django.dispatch import receiver

from integrations import services
from media_pipeline.signals import video_deleting, video_ready, video_visibility_changed


@receiver(video_ready, dispatch_uid="integrations.ipfs.video_ready")
def queue_video_pins(sender, video, **kwargs):
    # rows written in the sender's transaction; tasks queued on commit by the service
    services.ipfs_video_records_queue(video=video)


@receiver(video_deleting, dispatch_uid="integrations.ipfs.video_deleting")
def unpin_video(sender, video, **kwargs):
    services.ipfs_video_records_unpin(video=video)


@receiver(video_visibility_changed, dispatch_uid="integrations.ipfs.video_visibility_changed")
def follow_video_visibility(sender, video, previous, **kwargs):
    services.ipfs_video_visibility_changed(video=video, previous=previous)
