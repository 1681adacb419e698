"""Receivers of the media pipeline: a new or replaced source queues a transcode; a changed visibility is
announced. They only dispatch; the job row and its on-commit enqueue live in services.transcode_request."""

from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from media_pipeline.signals import video_visibility_changed


@receiver(post_init, sender="media_pipeline.Video")
def remember_loaded_source(sender, instance, **kwargs):
    if "source" in instance.__dict__:
        instance._loaded_source_name = str(instance.__dict__["source"] or "")
    else:
        instance._loaded_source_name = None  # deferred: unknown, so a later save never guesses a change
    instance._loaded_visibility = instance.__dict__.get("visibility")


@receiver(post_save, sender="media_pipeline.Video")
def queue_transcode_for_new_source(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    name = instance.source.name if instance.source else ""
    loaded = getattr(instance, "_loaded_source_name", None)
    if name and (created or (loaded is not None and name != loaded)):
        instance._loaded_source_name = name
        from media_pipeline.services import transcode_request

        transcode_request(video=instance)


@receiver(post_save, sender="media_pipeline.Video")
def announce_visibility_change(sender, instance, created, raw=False, **kwargs):
    """Any save that changes the visibility (admin, a service, the shell) tells the pin flow, in the same
    transaction; its receiver writes the unpin or pin rows and queues their tasks on commit."""
    previous = getattr(instance, "_loaded_visibility", None)
    if raw or created or previous is None or previous == instance.visibility:
        return
    instance._loaded_visibility = instance.visibility
    video_visibility_changed.send(sender=sender, video=instance, previous=previous)
