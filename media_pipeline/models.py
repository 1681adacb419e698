from django.conf import settings
from django.db import models

from core.fields import Uint256Field


def source_upload_path(video: "Video", filename: str) -> str:
    return f"sources/{video.owner_id}/{filename}"


class Video(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        UNLISTED = "unlisted", "Unlisted"
        PRIVATE = "private", "Private"
        PAID = "paid", "Paid"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    # Paid videos: a one-off payment of at least `price` (token base units) to the owner,
    # or an active stream to the owner paying at least `stream_rate` per second.
    price = Uint256Field(null=True, blank=True)
    stream_rate = Uint256Field(null=True, blank=True, help_text="minimum stream rate, token base units per second")
    source = models.FileField(upload_to=source_upload_path, max_length=500, blank=True)
    source_size = models.BigIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="seconds")
    source_width = models.PositiveIntegerField(null=True, blank=True)
    source_height = models.PositiveIntegerField(null=True, blank=True)
    source_fps = models.FloatField(null=True, blank=True)
    source_video_codec = models.CharField(max_length=40, blank=True)
    source_audio_codec = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED, db_index=True)
    error_message = models.TextField(blank=True)
    # Published outputs, relative to MEDIA_ROOT (set only once a transcode succeeded).
    hls_path = models.CharField(max_length=500, blank=True, help_text="folder holding master.m3u8")
    thumbnail = models.CharField(max_length=500, blank=True)
    storyboard_image = models.CharField(max_length=500, blank=True)
    storyboard_vtt = models.CharField(max_length=500, blank=True)
    # IPFS copies (set by the pin flow).
    hls_cid = models.CharField(max_length=100, blank=True)
    metadata_cid = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            # The public listing: ready videos, newest first, read in index order (no sort of every row).
            models.Index(fields=["status", "-created_at", "-id"], name="media_video_listing"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(visibility="paid") | models.Q(price__isnull=False) | models.Q(stream_rate__isnull=False),
                name="media_video_paid_has_price_or_rate",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_paid(self) -> bool:
        return self.visibility == self.Visibility.PAID


class Rendition(models.Model):
    """One rung of a published HLS ladder (replaced as a whole by each successful transcode)."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="renditions")
    name = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    video_bitrate = models.PositiveIntegerField(help_text="nominal, kbit/s")
    audio_bitrate = models.PositiveIntegerField(default=0, help_text="kbit/s, 0 without audio")
    codecs = models.CharField(max_length=100, help_text="RFC 6381, as in the master playlist")
    frame_rate = models.FloatField()
    playlist = models.CharField(max_length=500, help_text="media playlist, relative to the video's hls_path")
    bandwidth = models.PositiveIntegerField(help_text="measured peak, bit/s (BANDWIDTH)")
    average_bandwidth = models.PositiveIntegerField(help_text="measured mean, bit/s (AVERAGE-BANDWIDTH)")

    class Meta:
        # Tallest first. Not by `video`: ordering by a foreign key joins the videos table to sort by
        # its ordering, on every query of one video's rungs.
        ordering = ["-height", "-width", "name"]
        constraints = [models.UniqueConstraint(fields=["video", "name"], name="media_rendition_unique_name")]

    def __str__(self):
        return f"{self.name} {self.width}x{self.height}"


class TranscodeJob(models.Model):
    """One transcode of a video's current source: the row is the truth, the queued task only its id."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="transcode_jobs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    # How many times a worker claimed it (a killed worker's job is claimed again by the sweeper's requeue).
    attempts = models.PositiveIntegerField(default=0)
    progress = models.FloatField(default=0, help_text="percent, 0-100")
    speed = models.FloatField(default=0, help_text="encoding speed, x realtime")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    log_tail = models.TextField(blank=True)
    # The last attempt's error; every attempt's own is kept in attempt_history.
    error = models.TextField(blank=True)
    # One entry per attempt: {attempt, started_at, ended_at, worker ("host:pid:cluster"), outcome, reason}
    # (outcome: running, succeeded, failed, interrupted, lease_expired, superseded).
    attempt_history = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__gte=0, progress__lte=100), name="media_job_progress_0_100"),
            # One live transcode per video: a new source cancels the old job first.
            models.UniqueConstraint(
                fields=["video"], condition=models.Q(state__in=["queued", "running"]), name="media_job_one_active_per_video"
            ),
        ]

    def __str__(self):
        return f"transcode #{self.pk} of video {self.video_id} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES
