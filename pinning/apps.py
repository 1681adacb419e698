from django.apps import AppConfig


class PinningConfig(AppConfig):
    name = "pinning"
    verbose_name = "IPFS"

    def ready(self):
        from pinning import receivers  # noqa: F401  (connects receivers; no database access)
