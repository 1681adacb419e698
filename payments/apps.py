from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self):
        # Connect the signal receivers; nothing here touches the database.
        from payments import receivers  # noqa: F401
