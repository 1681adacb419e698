from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from integrations import signals  # noqa: F401  (connects receivers; no database access)
        from core.health import register, timed
        from integrations.services import ipfs_health

        # The configured IPFS backend's own check (embedded blockstore, Kubo version, pinning service).
        register("ipfs", timed(ipfs_health))
