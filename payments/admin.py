"""Admin: payments and streams are read-only mirrors of the chain (the indexer writes them), shown like a
block explorer: transaction, block, confirmations, parties, amounts in the token's units, live stream state."""

from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin import badge
from payments import selectors, tokens
from payments.models import ChainDeployment, IndexedBlock, IndexerCursor, Payment, PaymentStream

PAYMENT_TONES = {"confirmed": "ok", "pending": "waiting", "orphaned": "bad"}
STREAM_TONES = {"streaming": "busy", "scheduled": "waiting", "ended": "ok", "cancelled": "off"}


class ReadOnly:
    """Rows the indexer writes: shown, never added, changed or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


class ChainRowAdmin(ReadOnlyAdmin):
    """What a mirrored chain row (payment, stream) shows of its transaction and token."""

    @admin.display(description="transaction hash")
    def tx_hash_full(self, row):
        return monospace(row.tx_hash)

    @admin.display(description="block hash")
    def block_hash_full(self, row):
        return monospace(row.block_hash)

    @admin.display(description="token")
    def token(self, row):
        meta = tokens.token_meta_get(token_address=row.token_address)
        return format_html("{} {}", meta.symbol, monospace(row.token_address)) if meta.symbol else monospace(row.token_address)

    @admin.display(description="confirmations")
    def confirmations_display(self, row):
        return confirmations(row)


def confirmations(row) -> str:
    """Shown on a change page only: how deep the row is below the chain head the indexer saw last."""
    head = selectors.indexer_head_block(chain_id=row.chain_id)
    if head is None:
        return "—"
    return f"{max(head - row.block_number + 1, 0):,} (head {head:,} at the indexer's last pass)"


def amount(row, value) -> str:
    if value is None:
        return "—"
    return tokens.token_amount_format(amount=value, meta=tokens.token_meta_get(token_address=row.token_address))


def user_link(user):
    if user is None:
        return "— (no account has this wallet linked)"
    return format_html('<a href="{}">{}</a>', reverse("admin:accounts_user_change", args=[user.pk]), user.email)


def monospace(value: str):
    return format_html('<code style="font-size:12px;">{}</code>', value) if value else "—"


class WithdrawalInline(ReadOnly, admin.TabularInline):
    """The payouts of a stream (withdrawals and the recipient's share of a cancel)."""

    model = Payment
    fk_name = "stream"
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "withdrawals and cancel payouts"
    fields = ("tx_hash", "block_number", "amount_display", "to_address", "status")
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_display(self, payment):
        return amount(payment, payment.amount)


@admin.register(Payment)
class PaymentAdmin(ChainRowAdmin):
    list_display = ("short_tx", "block_number", "kind", "status_badge", "amount_display", "from_address", "to_address",
                    "stream_link", "confirmed_at")
    list_filter = ("status", "kind", "chain_id")
    search_fields = ("tx_hash", "from_address", "to_address", "from_user__email", "to_user__email")
    list_select_related = ()
    date_hierarchy = "created_at"
    fieldsets = (
        ("Transaction", {"fields": ("tx_hash_full", "log_index", "block_number", "block_hash_full", "chain_id",
                                    "confirmations_display", "status_badge", "confirmed_at", "orphaned_at")}),
        ("Transfer", {"fields": ("kind", "amount_display", "amount_base_units", "token", "from_address",
                                 "from_user_link", "to_address", "to_user_link", "stream_link")}),
    )
    readonly_fields = ("tx_hash_full", "log_index", "block_number", "block_hash_full", "chain_id", "confirmations_display",
                       "status_badge", "confirmed_at", "orphaned_at", "kind", "amount_display", "amount_base_units", "token",
                       "from_address", "from_user_link", "to_address", "to_user_link", "stream_link")

    @admin.display(description="transaction", ordering="tx_hash")
    def short_tx(self, payment):
        return f"{payment.tx_hash[:10]}…{payment.tx_hash[-6:]} #{payment.log_index}"

    @admin.display(description="status", ordering="status")
    def status_badge(self, payment):
        return badge(payment.get_status_display(), PAYMENT_TONES.get(payment.status, "off"))

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, payment):
        return amount(payment, payment.amount)

    @admin.display(description="amount (base units)")
    def amount_base_units(self, payment):
        return f"{int(payment.amount):,}"

    @admin.display(description="payer's account")
    def from_user_link(self, payment):
        return user_link(payment.from_user)

    @admin.display(description="payee's account")
    def to_user_link(self, payment):
        return user_link(payment.to_user)

    @admin.display(description="stream")
    def stream_link(self, payment):
        if payment.stream_id is None:
            return "—"
        url = reverse("admin:payments_paymentstream_change", args=[payment.stream_id])
        return format_html('<a href="{}">stream #{}</a>', url, payment.stream_id_onchain)


@admin.register(PaymentStream)
class PaymentStreamAdmin(ChainRowAdmin):
    list_display = ("stream_id", "status_badge", "sender", "recipient", "deposit_display", "rate_display",
                    "streamed_display", "start_time", "stop_time", "creation_confirmed")
    list_filter = ("cancelled", "creation_confirmed", "chain_id")
    search_fields = ("sender", "recipient", "tx_hash", "sender_user__email", "recipient_user__email")
    inlines = (WithdrawalInline,)
    fieldsets = (
        ("Stream", {"fields": ("stream_id", "status_badge", "chain_id", "contract", "token", "start_time", "stop_time",
                               "time_left")}),
        ("Amounts now", {"fields": ("deposit_display", "rate_display", "streamed_display", "to_stream_display",
                                    "withdrawable_display", "withdrawn_display", "held_display", "withdrawals_link")}),
        ("Parties", {"fields": ("sender", "sender_user_link", "recipient", "recipient_user_link")}),
        ("Creation", {"fields": ("tx_hash_full", "log_index", "block_number", "block_hash_full", "confirmations_display",
                                 "creation_confirmed")}),
        ("Cancel", {"fields": ("cancelled", "cancelled_at", "cancel_block_number", "cancel_tx_hash_full",
                               "cancel_payouts", "cancel_confirmed")}),
    )
    readonly_fields = ("stream_id", "status_badge", "chain_id", "contract", "token", "start_time", "stop_time", "time_left",
                       "deposit_display", "rate_display", "streamed_display", "to_stream_display", "withdrawable_display",
                       "withdrawn_display", "held_display", "withdrawals_link", "sender", "sender_user_link", "recipient",
                       "recipient_user_link", "tx_hash_full", "log_index", "block_number", "block_hash_full",
                       "confirmations_display", "creation_confirmed", "cancelled", "cancelled_at", "cancel_block_number",
                       "cancel_tx_hash_full", "cancel_payouts", "cancel_confirmed")

    def amounts_now(self, stream) -> selectors.StreamAmounts:
        # One reading per row, so its fields agree with each other.
        if not hasattr(stream, "amounts_now"):
            stream.amounts_now = selectors.stream_amounts(stream=stream)
        return stream.amounts_now

    @admin.display(description="status")
    def status_badge(self, stream):
        status = self.amounts_now(stream).status
        label = status if stream.creation_confirmed else f"{status}, unconfirmed"
        return badge(label, STREAM_TONES[status] if stream.creation_confirmed else "waiting")

    @admin.display(description="stream contract")
    def contract(self, stream):
        return monospace(stream.contract_address)

    @admin.display(description="time left")
    def time_left(self, stream):
        seconds = self.amounts_now(stream).seconds_left
        return str(timedelta(seconds=seconds)) if seconds else "—"

    @admin.display(description="deposit", ordering="deposit")
    def deposit_display(self, stream):
        return amount(stream, stream.deposit)

    @admin.display(description="rate per second", ordering="rate_per_second")
    def rate_display(self, stream):
        return f"{amount(stream, stream.rate_per_second)} / s"

    @admin.display(description="streamed so far")
    def streamed_display(self, stream):
        return amount(stream, self.amounts_now(stream).streamed)

    @admin.display(description="still to stream")
    def to_stream_display(self, stream):
        return amount(stream, self.amounts_now(stream).to_stream)

    @admin.display(description="withdrawable by the recipient")
    def withdrawable_display(self, stream):
        return amount(stream, self.amounts_now(stream).withdrawable)

    @admin.display(description="paid to the recipient")
    def withdrawn_display(self, stream):
        return amount(stream, stream.withdrawn)

    @admin.display(description="held by the contract")
    def held_display(self, stream):
        return amount(stream, stream.remaining_balance)

    @admin.display(description="payouts")
    def withdrawals_link(self, stream):
        count = stream.payments.count()
        url = reverse("admin:payments_payment_changelist") + f"?stream__id__exact={stream.pk}"
        return format_html('<a href="{}">{} payout(s) in the payments list</a>', url, count)

    @admin.display(description="sender's account")
    def sender_user_link(self, stream):
        return user_link(stream.sender_user)

    @admin.display(description="recipient's account")
    def recipient_user_link(self, stream):
        return user_link(stream.recipient_user)

    @admin.display(description="cancel transaction")
    def cancel_tx_hash_full(self, stream):
        return monospace(stream.cancel_tx_hash)

    @admin.display(description="cancel payouts")
    def cancel_payouts(self, stream):
        if not stream.cancelled:
            return "—"
        return (f"recipient {amount(stream, stream.cancel_recipient_balance)}, "
                f"back to the sender {amount(stream, stream.cancel_sender_balance)}")


@admin.register(IndexerCursor)
class IndexerCursorAdmin(ReadOnlyAdmin):
    """The indexer's progress: last block, head, lag, range size, last error."""

    list_display = ("chain_id", "contract_address", "last_block", "head_block", "lag", "range_size", "state",
                    "reorgs_detected", "last_run_at", "last_error")

    @admin.display(description="lag (blocks)")
    def lag(self, cursor):
        return cursor.lag_blocks


@admin.register(ChainDeployment)
class ChainDeploymentAdmin(ReadOnlyAdmin):
    list_display = ("chain_id", "token_address", "stream_address", "deploy_block", "created_at")


@admin.register(IndexedBlock)
class IndexedBlockAdmin(ReadOnlyAdmin):
    list_display = ("chain_id", "number", "hash")
    list_filter = ("chain_id",)
