from django.contrib import admin, messages
from django.utils.html import format_html

from config.errors import ServiceError
from integrations import services
from integrations.models import IPFSRecord


@admin.register(IPFSRecord)
class IPFSRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "kind", "role", "status", "backend", "cid_link", "size", "attempts", "short_error",
                    "created_at")
    list_filter = ("status", "backend", "kind", "role")
    search_fields = ("cid", "name")
    readonly_fields = ("cid", "kind", "role", "size", "backend", "import_params", "source_path", "status", "attempts",
                       "last_error", "heartbeat_at", "next_attempt_at", "enqueued_at", "pinned_at", "remote_request_id",
                       "content_type", "object_id", "uploaded_by", "created_at", "updated_at", "cid_link")
    fields = readonly_fields[:-1] + ("name",)
    actions = ("retry_failed", "unpin")

    @admin.display(description="CID")
    def cid_link(self, record):
        if not record.cid:
            return "—"
        return format_html('<a href="{}">{}</a>', record.gateway_url, record.cid)

    @admin.display(description="last error")
    def short_error(self, record):
        return (record.last_error[:80] + "…") if len(record.last_error) > 80 else record.last_error

    def has_add_permission(self, request):
        return False  # records come from uploads, videos and the `ipfs` command

    @admin.action(description="Retry the selected failed pins")
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

    @admin.action(description="Unpin the selected records")
    def unpin(self, request, queryset):
        for record in queryset:
            services.ipfs_record_unpin_request(record_id=record.pk)
        self.message_user(request, f"{queryset.count()} record(s) are being unpinned.", messages.SUCCESS)
