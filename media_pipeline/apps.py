from django.apps import AppConfig


class MediaPipelineConfig(AppConfig):
    name = "media_pipeline"

    def ready(self):
        # Connects the receivers (no database access here).
        from media_pipeline import signals  # noqa: F401
