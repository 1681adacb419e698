"""Models of the pinning app: IPFS records (one pin of one CID on one backend)."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from pinning.gateway import content_url


class IPFSRecord(models.Model):
    """A CID we keep pinned on a backend, and the background work that pins or unpins it.

    The row is the job: state, attempts, heartbeat and last error live here, and a
    django-q2 task only carries its id. The CID is empty until the content has been
    imported (a video's HLS folder is hashed by the pin task, not in the request).
    """

    class Kind(models.TextChoices):
        FILE = "file", "File"
        JSON = "json", "JSON"
        DIRECTORY = "directory", "Directory"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PINNING = "pinning", "Pinning"
        PINNED = "pinned", "Pinned"
        FAILED = "failed", "Failed"
        UNPINNING = "unpinning", "Unpinning"
        UNPINNED = "unpinned", "Unpinned"

    class Role(models.TextChoices):
        UPLOAD = "upload", "Upload"
        VIDEO_HLS = "video_hls", "Video HLS folder"
        VIDEO_THUMBNAIL = "video_thumbnail", "Video thumbnail"
        VIDEO_METADATA = "video_metadata", "Video metadata"

    cid = models.CharField(max_length=100, blank=True, db_index=True, help_text="empty until imported")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.UPLOAD)
    name = models.CharField(max_length=255)
    size = models.BigIntegerField(null=True, blank=True, help_text="bytes of content (files in a directory summed)")
    backend = models.CharField(max_length=20)
    import_params = models.JSONField(default=dict, blank=True, help_text="importer parameters the CID depends on")
    source_path = models.CharField(max_length=500, blank=True, help_text="relative to MEDIA_ROOT")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    remote_request_id = models.CharField(max_length=200, blank=True, help_text="pinning service request id")
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    linked_object = GenericForeignKey("content_type", "object_id")
    # An upload belongs to the one user who sent it: the same bytes from another user are another record
    # (pins are counted across records by CID), so nobody reaches someone else's record through its content.
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="ipfs_uploads")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "IPFS record"
        constraints = [
            models.CheckConstraint(condition=~models.Q(status="pinned") | ~models.Q(cid=""),
                                   name="pinning_ipfsrecord_pinned_has_cid"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["content_type", "object_id"]),
        ]

    def __str__(self):
        return f"{self.name} ({self.cid or 'not imported'}, {self.backend}, {self.status})"

    @property
    def gateway_url(self) -> str:
        """Where the gateway serves the content; "" unless it is pinned (an unpinned CID is gone after gc)."""
        if not self.cid or self.status != self.Status.PINNED:
            return ""
        # A file's name (when it has a type) names the type the gateway serves it as.
        filename = self.name if self.kind == self.Kind.FILE and "." in self.name else ""
        return content_url(self.cid, directory=self.kind == self.Kind.DIRECTORY, filename=filename)
