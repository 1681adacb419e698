"""Settings for bench/api.py: the project's real settings, with the bench's URLs (the project's
plus a bare django-ninja endpoint and the Django REST Framework peer, served by the same process).
rest_framework is a bench-only dependency: installed here, never in config/settings.py."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework"]  # noqa: F405
REST_FRAMEWORK = {
    # What a DRF site answers visitors with: sessions (the same cookie as ours), JSON only.
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
