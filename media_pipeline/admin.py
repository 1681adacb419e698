"""Admin: videos with thumbnail, status, transcode progress and duration; renditions and jobs inline;
the viewers' player as a preview on the change page; re-transcode (button and action) and delete outputs.
Deleting goes through the service (signal + files)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.shortcuts import redirect
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from core.admin import attempts_table, human_size
from core.errors import ServiceError
from core.text import duration_text
from media_pipeline import playback, selectors, services
from media_pipeline.models import Rendition, TranscodeJob, Video
from media_pipeline.probe import sniff_container
from media_pipeline.views import player_context

OUTPUT_FIELDS = ("status", "error_message", "duration_clock", "source_width", "source_height", "source_fps",
                 "source_video_codec", "source_audio_codec", "source_size_text", "hls_path", "thumbnail",
                 "storyboard_image", "storyboard_vtt", "hls_cid", "metadata_cid", "ready_at", "created_at", "updated_at")


class VideoAdminForm(forms.ModelForm):
    class Meta:
        model = Video
        fields = "__all__"

    def clean_source(self):
        source = self.cleaned_data.get("source")
        if isinstance(source, UploadedFile):  # a new file (an unchanged one is a FieldFile)
            if source.size == 0:
                raise forms.ValidationError("The file is empty.")
            if source.size > settings.MEDIA_MAX_UPLOAD_BYTES:
                raise forms.ValidationError(
                    f"The file is {source.size} bytes; the largest allowed is {settings.MEDIA_MAX_UPLOAD_BYTES} bytes.")
            source.seek(0)
            head = source.read(512)
            source.seek(0)
            if sniff_container(head) is None:
                raise forms.ValidationError("This file is not a video container we accept (mp4, mov, mkv, webm, …).")
        return source

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("visibility") == Video.Visibility.PAID and cleaned.get("price") is None \
                and cleaned.get("stream_rate") is None:
            self.add_error("price", "A paid video needs a price or a stream rate.")
        return cleaned


class RenditionInline(admin.TabularInline):
    model = Rendition
    extra = 0
    can_delete = False
    fields = ("name", "width", "height", "video_bitrate", "audio_bitrate", "codecs", "frame_rate", "bandwidth",
              "average_bandwidth", "playlist")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class TranscodeJobInline(admin.TabularInline):
    model = TranscodeJob
    extra = 0
    can_delete = False
    fields = ("state", "progress_bar", "speed", "attempts", "attempt_table", "created_at", "started_at", "finished_at",
              "error", "log_tail")
    readonly_fields = fields
    ordering = ("-created_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="attempt history")
    def attempt_table(self, job):
        return attempts_table(job.attempt_history)

    @admin.display(description="progress")
    def progress_bar(self, job):
        return progress_html(job.progress, job.state)


def progress_html(progress, state):
    if progress is None:
        return "—"
    return format_html(
        '<progress max="100" value="{}" title="{}%"></progress> {}% <small>{}</small>',
        int(progress), int(progress), int(progress), state,
    )


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    form = VideoAdminForm
    list_display = ("thumbnail_tag", "title", "owner", "visibility", "status", "progress", "duration_clock",
                    "created_at")
    list_display_links = ("thumbnail_tag", "title")
    list_filter = ("status", "visibility")
    search_fields = ("title", "owner__email")
    list_select_related = ("owner",)
    readonly_fields = ("thumbnail_large", *OUTPUT_FIELDS)
    inlines = (RenditionInline, TranscodeJobInline)
    actions = ("retranscode", "delete_outputs")
    fieldsets = (
        (None, {"fields": ("owner", "title", "description", "visibility", "price", "stream_rate", "source")}),
        ("Transcode", {"fields": ("thumbnail_large", "status", "error_message", "duration_clock", "source_width",
                                  "source_height", "source_fps", "source_video_codec", "source_audio_codec",
                                  "source_size_text", "ready_at")}),
        ("Published outputs", {"classes": ("collapse",), "fields": ("hls_path", "thumbnail", "storyboard_image",
                                                                    "storyboard_vtt", "hls_cid", "metadata_cid",
                                                                    "created_at", "updated_at")}),
    )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Parsing the body runs the upload handler, which marks (and stops) an oversized upload.
        if request.method == "POST" and request.FILES is not None and getattr(request, "upload_too_large", None):
            self.message_user(request, f"The upload is {request.upload_too_large} bytes; the largest allowed is "
                                       f"{settings.MEDIA_MAX_UPLOAD_BYTES} bytes.", messages.ERROR)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # The same player viewers get (player/_player.html), and the latest transcode (annotated by
            # get_queryset) to follow live.
            context["player"] = player_context(video=obj, viewer=request.user)
            context["latest_job"] = {"state": obj.job_state, "progress": obj.job_progress} if obj.job_state else None
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        return [
            path("<path:object_id>/retranscode/", self.admin_site.admin_view(self.retranscode_view),
                 name="media_pipeline_video_retranscode"),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def retranscode_view(self, request, object_id):
        video = self.get_object(request, object_id)
        if video is None or not self.has_change_permission(request, video):
            raise PermissionDenied
        if self.transcode_queue(request, video):
            self.message_user(request, f"Queued a transcode of “{video}”.", messages.SUCCESS)
        return redirect("admin:media_pipeline_video_change", video.pk)

    def transcode_queue(self, request, video) -> bool:
        try:
            services.transcode_request(video=video)
        except ServiceError as error:
            self.message_user(request, f"{video}: {error.message}", messages.ERROR)
            return False
        return True

    def get_queryset(self, request):
        return selectors.videos_with_latest_job(super().get_queryset(request))

    @admin.display(description="")
    def thumbnail_tag(self, video):
        if not video.thumbnail:
            return "—"
        return format_html('<img src="{}" alt="" style="height:54px;border-radius:3px">',
                           playback.media_url(video=video, path=video.thumbnail))

    @admin.display(description="thumbnail")
    def thumbnail_large(self, video):
        if not video.thumbnail:
            return "—"
        return format_html('<img src="{}" alt="" style="max-width:480px">', playback.media_url(video=video, path=video.thumbnail))

    @admin.display(description="progress", ordering="job_progress")
    def progress(self, video):
        if getattr(video, "job_state", None) is None:
            return "—"
        return progress_html(video.job_progress, video.job_state)

    @admin.display(description="duration", ordering="duration")
    def duration_clock(self, video):
        return duration_text(video.duration) or "—"

    @admin.display(description="source size", ordering="source_size")
    def source_size_text(self, video):
        return human_size(video.source_size)

    @admin.action(description="Re-transcode the selected videos", permissions=["change"])
    def retranscode(self, request, queryset):
        queued = sum(self.transcode_queue(request, video) for video in queryset)
        if queued:
            self.message_user(request, f"Queued {queued} transcode(s).", messages.SUCCESS)

    @admin.action(description="Delete outputs (HLS, thumbnail, storyboard) of the selected videos",
                  permissions=["delete"])
    def delete_outputs(self, request, queryset):
        for video in queryset:
            services.video_outputs_delete(video=video)
        self.message_user(request, f"Deleted the outputs of {queryset.count()} video(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        services.video_delete(video=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for video in queryset:
            services.video_delete(video=video, actor=request.user)


@admin.register(TranscodeJob)
class TranscodeJobAdmin(admin.ModelAdmin):
    list_display = ("id", "video", "state", "progress_bar", "speed", "attempts", "created_at", "finished_at")
    list_filter = ("state",)
    list_select_related = ("video",)
    search_fields = ("video__title",)
    readonly_fields = [*(f.name for f in TranscodeJob._meta.fields if f.name != "attempt_history"), "attempt_table"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="attempt history")
    def attempt_table(self, job):
        return attempts_table(job.attempt_history)

    @admin.display(description="progress", ordering="progress")
    def progress_bar(self, job):
        return progress_html(job.progress, job.state)
