"""Issue 12 §6: deployment defaults. `manage.py check --deploy` with the production environment of the README
(DEBUG off, an https SITE_URL, a long random SECRET_KEY) reports nothing, and those settings really send
the headers (HSTS, HTTPS redirect, secure cookies, frame and referrer policies) — checked in a separate
process, since settings are read once per process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.fixtures.processes import ROOT


def production_env(tmp_path, **overrides) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SITE_URL": "https://video.example.com",
        "ALLOWED_HOSTS": "video.example.com",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATA_DIR": str(tmp_path / "data"),
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_reports_nothing_with_the_production_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("override, warning", [
    ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
    ({"SECURE_SSL_REDIRECT": "0"}, "security.W008"),
    ({"SECURE_COOKIES": "0"}, "security.W012"),
    ({"SITE_URL": "http://video.example.com"}, "security.W004"),  # not https: no HSTS, no secure cookies
])
def test_check_deploy_is_not_vacuous(tmp_path, override, warning):
    result = manage(production_env(tmp_path, **override), "check", "--deploy")
    assert warning in result.stdout + result.stderr


SHOW_HEADERS = """
import json
from django.test import Client
client = Client(HTTP_HOST="video.example.com")
secure = client.get("/signin/", secure=True)
plain = client.get("/signin/")
print(json.dumps({"secure": dict(secure.headers), "secure_status": secure.status_code,
                  "cookies": {name: {"secure": bool(c["secure"]), "httponly": bool(c["httponly"])}
                              for name, c in secure.cookies.items()},
                  "plain_status": plain.status_code, "plain_location": plain.get("Location", "")}))
"""


def test_production_settings_send_the_headers(tmp_path):
    env = production_env(tmp_path)
    assert manage(env, "migrate", "--no-input", "-v", "0").returncode == 0
    result = manage(env, "shell", "-c", SHOW_HEADERS)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    headers = seen["secure"]
    assert seen["secure_status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert seen["cookies"]["csrftoken"]["secure"]
    assert (seen["plain_status"], seen["plain_location"]) == (301, "https://video.example.com/signin/")
