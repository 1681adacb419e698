"""Admin: payments and streams are read-only mirrors of the chain (the indexer writes them)."""

from django.contrib import admin

from payments.models import ChainDeployment, IndexedBlock, IndexerCursor, Payment, PaymentStream


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("tx_hash", "log_index", "block_number", "kind", "status", "amount", "from_address", "to_address", "confirmed_at")
    list_filter = ("status", "kind", "chain_id")
    search_fields = ("tx_hash", "from_address", "to_address", "from_user__email", "to_user__email")
    list_select_related = ("from_user", "to_user")
    date_hierarchy = "created_at"


@admin.register(PaymentStream)
class PaymentStreamAdmin(ReadOnlyAdmin):
    list_display = ("stream_id", "sender", "recipient", "deposit", "rate_per_second", "start_time", "stop_time",
                    "withdrawn", "remaining_balance", "cancelled")
    list_filter = ("cancelled", "chain_id")
    search_fields = ("sender", "recipient", "tx_hash", "sender_user__email", "recipient_user__email")


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
