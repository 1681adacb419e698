from django.apps import AppConfig


class MediaPipelineConfig(AppConfig):
    name = "media_pipeline"
    verbose_name = "Videos"

    def ready(self):
        # Connects the receivers (no database access here).
        from media_pipeline import receivers  # noqa: F401
        from core.health import register
        from media_pipeline.health import check_ffmpeg, check_ffprobe

        register("ffmpeg", check_ffmpeg)
        register("ffprobe", check_ffprobe)
