from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from core.admin import badge, human_size
from core.errors import ServiceError
from pinning import services
from pinning.models import IPFSRecord


STATUS_TONES = {"pinned": "ok", "pinning": "busy", "queued": "waiting", "failed": "bad", "unpinning": "busy",
                "unpinned": "off"}


@admin.register(IPFSRecord)
class IPFSRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "kind", "role", "status_badge", "backend", "cid_link", "size_text", "attempts", "short_error",
                    "linked", "created_at")
    list_filter = ("status", "backend", "kind", "role")
    search_fields = ("cid", "name")
    list_select_related = ("content_type",)
    readonly_fields = ("cid", "gateway_links", "status_badge", "kind", "role", "size_text", "backend", "import_params",
                       "source_path", "attempts", "last_error", "heartbeat_at", "next_attempt_at", "enqueued_at",
                       "pinned_at", "remote_request_id", "linked", "uploaded_by", "created_at", "updated_at", "cid_link")
    fields = ("name",) + readonly_fields[:-1]
    actions = ("retry_failed", "unpin")

    @admin.display(description="status", ordering="status")
    def status_badge(self, record):
        return badge(record.get_status_display(), STATUS_TONES.get(record.status, "off"))

    @admin.display(description="size", ordering="size")
    def size_text(self, record):
        return human_size(record.size)

    @admin.display(description="on the gateway")
    def gateway_links(self, record):
        if not record.cid:
            return "— (not imported yet)"
        if not record.gateway_url:
            return f"— (not served: {record.get_status_display().lower()})"
        if record.role == IPFSRecord.Role.VIDEO_HLS:
            return format_html('<a href="{0}">{0}</a><br><a href="{0}master.m3u8">master.m3u8</a> (play it in any HLS player)',
                               record.gateway_url)
        return format_html('<a href="{0}">{0}</a>', record.gateway_url)

    @admin.display(description="for")
    def linked(self, record):
        if not record.content_type_id or not record.object_id:
            return "—"
        model = record.content_type
        try:
            url = reverse(f"admin:{model.app_label}_{model.model}_change", args=[record.object_id])
        except NoReverseMatch:
            return f"{model.name} {record.object_id}"
        return format_html('<a href="{}">{} {}</a>', url, model.name, record.object_id)

    @admin.display(description="CID")
    def cid_link(self, record):
        if not record.cid:
            return "—"
        if not record.gateway_url:  # not pinned: the gateway no longer serves it, so no link
            return record.cid
        return format_html('<a href="{}">{}</a>', record.gateway_url, record.cid)

    @admin.display(description="last error")
    def short_error(self, record):
        return (record.last_error[:80] + "…") if len(record.last_error) > 80 else record.last_error

    def has_add_permission(self, request):
        return False  # records come from uploads, videos and the `ipfs` command

    def has_delete_permission(self, request, obj=None):
        # A row is the only memory of its pin: it goes once it is unpinned (the unpin action comes first).
        if obj is not None and obj.status != IPFSRecord.Status.UNPINNED:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        # delete_selected already refuses a batch holding a live record (per-object permission above)
        super().delete_queryset(request, queryset.filter(status=IPFSRecord.Status.UNPINNED))

    @admin.action(description="Retry the selected failed pins", permissions=["change"])
    def retry_failed(self, request, queryset):
        done = 0
        for record in queryset:
            try:
                services.ipfs_record_retry(record_id=record.pk)
                done += 1
            except ServiceError as error:
                self.message_user(request, f"{record}: {error.message}", messages.WARNING)
        if done:
            self.message_user(request, f"{done} pin(s) queued again.", messages.SUCCESS)

    @admin.action(description="Unpin the selected records", permissions=["delete"])
    def unpin(self, request, queryset):
        for record in queryset:
            services.ipfs_record_unpin_request(record_id=record.pk)
        self.message_user(request, f"{queryset.count()} record(s) are being unpinned.", messages.SUCCESS)
