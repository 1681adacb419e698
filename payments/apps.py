from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self):
        # Connect the signal receivers and register the chain's part of /api/health; no database access here.
        from core.health import register
        from payments import receivers  # noqa: F401
        from payments.health import check_chain

        register("chain", check_chain)
