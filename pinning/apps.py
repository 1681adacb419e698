from django.apps import AppConfig


class PinningConfig(AppConfig):
    name = "pinning"
    verbose_name = "IPFS"

    def ready(self):
        from core.health import register, timed
        from pinning import receivers  # noqa: F401  (connects receivers; no database access)
        from pinning.services import ipfs_health

        # The configured IPFS backend's own check (embedded blockstore, Kubo version, pinning service).
        register("ipfs", timed(ipfs_health))
