"""What Flowcast knows about the chain: deployed contracts, the indexer's cursor and the block
hashes it has seen, token payments and payment streams (mirrored from events), and SIWE nonces.

Amounts are token base units in `Uint256Field`; addresses are stored lower-case.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import Uint256Field
from integrations.blockchain.events import chain_event_key


class ChainDeployment(models.Model):
    """Contract addresses on one chain, recorded by `manage.py chain deploy`."""

    chain_id = models.PositiveBigIntegerField(unique=True)
    token_address = models.CharField(max_length=42)
    stream_address = models.CharField(max_length=42)
    deploy_block = models.PositiveBigIntegerField(default=0)
    deployer = models.CharField(max_length=42, blank=True)
    sablier_lockup_address = models.CharField(max_length=42, blank=True,
                                              help_text="Sablier V2 LockupLinear (deployed on a dev chain or given by SABLIER_LOCKUP_LINEAR_ADDRESS)")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"chain {self.chain_id}: token {self.token_address}, streams {self.stream_address}"

    @property
    def stream_contracts(self) -> list[str]:
        """Every contract whose streams the indexer mirrors (ours, and Sablier's when recorded)."""
        return [a for a in (self.stream_address, self.sablier_lockup_address) if a]


class IndexerCursor(models.Model):
    """How far the indexer has read one chain's contracts, and its health (a work row)."""

    class State(models.TextChoices):
        IDLE = "idle", "Idle"
        RUNNING = "running", "Running"

    chain_id = models.PositiveBigIntegerField()
    contract_address = models.CharField(max_length=42, help_text="the stream contract; the token is read with it")
    token_address = models.CharField(max_length=42)
    last_block = models.BigIntegerField(help_text="highest block fully indexed")
    last_block_hash = models.CharField(max_length=66, blank=True)
    range_size = models.PositiveIntegerField(default=1000, help_text="current eth_getLogs block range (adaptive)")
    head_block = models.BigIntegerField(null=True, blank=True, help_text="chain head seen by the last pass")
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    reorgs_detected = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "contract_address"], name="payments_cursor_unique")]

    def __str__(self):
        return f"cursor chain {self.chain_id} @ {self.last_block}"

    @property
    def lag_blocks(self) -> int | None:
        return None if self.head_block is None else max(0, self.head_block - self.last_block)


class IndexedBlock(models.Model):
    """A block the indexer read (one holding our events, or a range end), to notice a reorg."""

    chain_id = models.PositiveBigIntegerField()
    number = models.BigIntegerField()
    hash = models.CharField(max_length=66)
    parent_hash = models.CharField(max_length=66, blank=True)
    timestamp = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "number"], name="payments_block_unique")]
        ordering = ["-number"]


class PaymentStream(models.Model):
    """A stream of our PaymentStream contract or of Sablier V2 LockupLinear, mirrored from its events.

    For Sablier, `rate_per_second` is deposit // (end - start), rounded down (Sablier streams the
    deposit linearly and need not divide evenly), and `stream_id` is Sablier's own id."""

    class Protocol(models.TextChoices):
        FLOWCAST = "flowcast", "Flowcast PaymentStream"
        SABLIER = "sablier", "Sablier V2 LockupLinear"

    protocol = models.CharField(max_length=10, choices=Protocol.choices, default=Protocol.FLOWCAST)
    # A transferable Sablier stream's NFT (and its payouts) can move to another wallet, which the
    # mirror does not follow: such a stream is stored but never unlocks anything.
    transferable = models.BooleanField(default=False)
    chain_id = models.PositiveBigIntegerField()
    contract_address = models.CharField(max_length=42)
    stream_id = models.PositiveBigIntegerField()
    sender = models.CharField(max_length=42, db_index=True)
    recipient = models.CharField(max_length=42, db_index=True)
    token_address = models.CharField(max_length=42)
    deposit = Uint256Field()
    rate_per_second = Uint256Field()
    start_time = models.DateTimeField()
    stop_time = models.DateTimeField()
    withdrawn = Uint256Field(default=0, help_text="paid to the recipient so far (withdrawals and the cancel payout)")
    remaining_balance = Uint256Field(help_text="still held by the contract")
    cancelled = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_block_number = models.BigIntegerField(null=True, blank=True)
    cancel_tx_hash = models.CharField(max_length=66, blank=True)
    cancel_log_index = models.PositiveIntegerField(null=True, blank=True)
    cancel_block_hash = models.CharField(max_length=66, blank=True)
    cancel_sender_balance = Uint256Field(null=True, blank=True)
    cancel_recipient_balance = Uint256Field(null=True, blank=True)
    sender_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="streams_sent")
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="streams_received")
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_number = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)
    # Signals go out once the block is `CHAIN_CONFIRMATIONS` deep (never for a stream a reorg removed).
    creation_confirmed = models.BooleanField(default=False)
    cancel_confirmed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-block_number", "-log_index"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "contract_address", "stream_id"], name="payments_stream_unique"),
            models.UniqueConstraint(fields=["chain_id", "tx_hash", "log_index"], name="payments_stream_log_unique"),
            models.CheckConstraint(condition=Q(stop_time__gt=models.F("start_time")), name="payments_stream_stop_after_start"),
        ]

    def __str__(self):
        return f"stream {self.stream_id} {self.sender} → {self.recipient}"

    @property
    def creation_event_key(self) -> str:
        """The CreateStream log's chain identity (outbox keys): `chain_event_key`."""
        return chain_event_key(chain_id=self.chain_id, contract_address=self.contract_address, tx_hash=self.tx_hash,
                               log_index=self.log_index, block_hash=self.block_hash)

    @property
    def cancel_event_key(self) -> str:
        """The CancelStream log's chain identity; empty while the stream is not cancelled."""
        if not self.cancel_tx_hash:
            return ""
        return chain_event_key(chain_id=self.chain_id, contract_address=self.contract_address, tx_hash=self.cancel_tx_hash,
                               log_index=self.cancel_log_index, block_hash=self.cancel_block_hash)


class Payment(models.Model):
    """A token transfer to a user (kind "transfer") or a payout from a stream ("withdrawal")."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", "Transfer"
        WITHDRAWAL = "withdrawal", "Stream withdrawal"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (not yet confirmed)"
        CONFIRMED = "confirmed", "Confirmed"
        ORPHANED = "orphaned", "Orphaned by a reorg"

    chain_id = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_number = models.BigIntegerField(db_index=True)
    block_hash = models.CharField(max_length=66)
    from_address = models.CharField(max_length=42, db_index=True)
    to_address = models.CharField(max_length=42, db_index=True)
    token_address = models.CharField(max_length=42)
    contract_address = models.CharField(max_length=42, blank=True,
                                        help_text="the contract that emitted the log: the token (transfers) or the stream contract")
    amount = Uint256Field()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments_sent")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments_received")
    stream = models.ForeignKey(PaymentStream, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    stream_id_onchain = models.PositiveBigIntegerField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    orphaned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-block_number", "-log_index"]
        constraints = [
            # One row per log, whatever happens: a re-run or a re-mined tx updates it, never adds another.
            models.UniqueConstraint(fields=["chain_id", "tx_hash", "log_index"], name="payments_payment_log_unique"),
        ]
        indexes = [models.Index(fields=["to_user", "status"]), models.Index(fields=["from_user", "status"])]

    def __str__(self):
        return f"{self.amount} {self.from_address} → {self.to_address} ({self.status})"

    @property
    def event_key(self) -> str:
        """The log's chain identity (outbox keys): `chain_event_key`."""
        return chain_event_key(chain_id=self.chain_id, contract_address=self.contract_address, tx_hash=self.tx_hash,
                               log_index=self.log_index, block_hash=self.block_hash)
