from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from integrations import signals  # noqa: F401  (connects receivers; no database access)
