from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py demo`: a guided walk through the whole platform on the parts `make run` starts."""

    name = "demo"
