"""Settings for bench/outbox.py only: the app's settings plus django-post-office, the peer it is measured against.

The app's own INSTALLED_APPS stay as they are; post_office exists here so its `send_queued` can run on the
same database and the same SMTP sink in the same run.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]

# A throwaway database made (and dropped) by the bench: PostgreSQL `test_<name>`, or this SQLite file.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("OUTBOX_BENCH_SQLITE", "/tmp/flowcast-outbox-bench.sqlite3")}
