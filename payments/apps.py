from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from core.health import register
        from payments.health import check_chain

        register("chain", check_chain)
