"""Settings for bench/api.py: the project's real settings, with the bench's URLs (the project's
plus a bare django-ninja endpoint served by the same process)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
