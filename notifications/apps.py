from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Emails"  # the admin index heading: what a person looks for

    def ready(self):
        # Connect the signal receivers; nothing here touches the database.
        from notifications import receivers  # noqa: F401
        from core.health import register
        from notifications.health import check_smtp

        register("smtp", check_smtp)
