"""Settings for the test suite: the project's settings with a throwaway data folder.

Fixtures that start processes (a django-q2 cluster, a web server) pass this
module and the test database's URL to them, so they share the test's state.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "flowcast-test-secret-key-not-for-production")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="flowcast-test-"))
# Tests must not find the developer's `make run` parts by accident.
os.environ.setdefault("RPC_URL", "http://127.0.0.1:9")
os.environ.setdefault("EMAIL_PORT", "9")
# A unique cluster name per run keeps two runs on one Redis from taking each other's tasks.
# Playwright's sync API keeps an event loop on the test thread; the ORM calls the
# tests make beside it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("Q_NAME", f"flowcast-test-{os.getpid()}")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
