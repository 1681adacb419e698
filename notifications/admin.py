from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from integrations.mail_sink import read_mailbox
from notifications import selectors, services
from notifications.models import OutboundEmail


# Emails are styled inline (mail clients need it) and their preview's srcdoc iframe inherits the page's CSP:
# the pages that show one allow inline style (never script: the iframe is sandboxed, the CSP keeps script-src).
inline_email_styles = csp_update({"style-src": [UNSAFE_INLINE]})


def sandboxed_html(html: str, *, height: int = 480):
    """An email's HTML in an iframe with every sandbox restriction on (no scripts, no same origin,
    no forms, no top navigation), so a preview can never act on the admin page."""
    return format_html(
        '<iframe sandbox="" referrerpolicy="no-referrer" srcdoc="{}" title="HTML part" '
        'style="width:100%;max-width:760px;height:{}px;border:1px solid #ccc;background:#fff;"></iframe>',
        html,
        height,
    )


def text_part(text: str):
    return format_html('<pre style="white-space:pre-wrap;max-width:760px;border:1px solid #ccc;padding:12px;">{}</pre>', text)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("recipient", "template", "subject", "status", "attempts", "created_at", "sent_at", "short_error")
    list_filter = ("status", "template", "created_at")
    search_fields = ("recipient", "subject", "idempotency_key", "message_id")
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ["resend", "mark_failed"]
    change_list_template = "admin/notifications/outboundemail/change_list.html"
    readonly_fields = (
        "recipient", "template", "status", "attempts", "last_error", "next_attempt_at", "heartbeat_at", "sent_at",
        "message_id", "idempotency_key", "event_key", "created_at", "updated_at", "subject", "html_preview", "text_preview",
        "context",
    )
    fieldsets = (
        (None, {"fields": ("recipient", "subject", "template", "status", "attempts", "last_error", "sent_at")}),
        ("Preview", {"fields": ("html_preview", "text_preview")}),
        ("Delivery", {"fields": ("message_id", "idempotency_key", "event_key", "next_attempt_at", "heartbeat_at", "created_at",
                                 "updated_at", "context"), "classes": ("collapse",)}),
    )

    @inline_email_styles
    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request):
        return False  # emails come from events (or `manage.py email send-test`), never typed in here

    def changelist_view(self, request, extra_context=None):
        # The state of the outbox at a glance: how much waits, how much failed.
        counts = selectors.outbox_status_counts()
        summary = [(label, counts[value], value) for value, label in OutboundEmail.Status.choices]
        return super().changelist_view(request, extra_context={**(extra_context or {}), "outbox_summary": summary})

    @admin.display(description="last error")
    def short_error(self, email):
        return (email.last_error[:80] + "…") if len(email.last_error) > 80 else email.last_error

    @admin.display(description="HTML part")
    def html_preview(self, email):
        return sandboxed_html(email.body_html)

    @admin.display(description="text part")
    def text_preview(self, email):
        return text_part(email.body_text)

    @admin.action(description="Resend selected emails (failed or sent)", permissions=["change"])
    def resend(self, request, queryset):
        queued, skipped = services.outbound_email_resend(email_ids=queryset.values_list("id", flat=True))
        if queued:
            self.message_user(request, f"Queued {len(queued)} email(s) to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} email(s): still queued or being sent, cancelled (the chain reversed what they "
                         "were about), or their template does not render.",
                messages.WARNING,
            )

    @admin.action(description="Mark selected queued emails as failed (do not send)", permissions=["change"])
    def mark_failed(self, request, queryset):
        marked, skipped = services.outbound_email_mark_failed(
            email_ids=queryset.values_list("id", flat=True), reason=f"Marked failed by {request.user} in the admin."
        )
        if marked:
            self.message_user(request, f"Marked {marked} email(s) as failed; they will not be sent.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} email(s) that were not queued (already sent, failed, or being sent).",
                messages.WARNING,
            )

    # The local SMTP sink of `make run` ---------------------------------------

    def get_urls(self):
        urls = [
            path("mailbox/", self.admin_site.admin_view(self.mailbox_view), name="notifications_mailbox"),
            path("mailbox/<str:name>/", self.admin_site.admin_view(self.mailbox_message_view),
                 name="notifications_mailbox_message"),
        ]
        return urls + super().get_urls()

    def mailbox_view(self, request):
        """What the local SMTP sink received (MAIL_SINK_DIR), newest first."""
        if not self.has_view_permission(request):
            raise Http404
        rows = []
        for mail_path, message in read_mailbox(settings.MAIL_SINK_DIR):
            rows.append({
                "name": mail_path.name,
                "date": message["Date"],
                "to": message["To"],
                "subject": message["Subject"],
                "url": reverse("admin:notifications_mailbox_message", args=[mail_path.name]),
            })
            if len(rows) >= 200:
                break
        context = {
            **self.admin_site.each_context(request),
            "title": "Local mailbox (SMTP sink)",
            "opts": self.model._meta,
            "rows": rows,
            "directory": settings.MAIL_SINK_DIR,
        }
        return TemplateResponse(request, "admin/notifications/outboundemail/mailbox.html", context)

    @inline_email_styles
    def mailbox_message_view(self, request, name):
        if not self.has_view_permission(request):
            raise Http404
        found = next(((p, m) for p, m in read_mailbox(settings.MAIL_SINK_DIR) if p.name == name), None)
        if found is None:
            raise Http404(f"No message {name!r} in the mailbox.")
        mail_path, message = found
        html = message.get_body(preferencelist=("html",))
        text = message.get_body(preferencelist=("plain",))
        context = {
            **self.admin_site.each_context(request),
            "title": message["Subject"] or "(no subject)",
            "opts": self.model._meta,
            "headers": [(h, message[h]) for h in ("Date", "From", "To", "Subject", "Message-ID") if message[h]],
            "html_part": sandboxed_html(html.get_content()) if html else None,
            "text_part": text_part(text.get_content()) if text else None,
            "mailbox_url": reverse("admin:notifications_mailbox"),
            "file": mail_path,
        }
        return TemplateResponse(request, "admin/notifications/outboundemail/mailbox_message.html", context)
