"""How django-axes names an account and answers a locked-out sign-in (settings: AXES_*).

Every login path goes through `django.contrib.auth.authenticate`, where axes' backend refuses a
locked-out account or address before any password is checked; its middleware then replaces the
answer with `lockout_response`: the API's error shape under /api/, a readable page elsewhere."""

from __future__ import annotations

import math

from django.shortcuts import render

from core.errors import error_response

LOCKED_OUT_CODE = "locked_out"


def lockout_username(request, credentials: dict | None) -> str:
    """The account a sign-in names, as the user model matches it (emails compare case-insensitively),
    so `Ada@x ` and `ada@x` share one count."""
    credentials = credentials or {}
    username = credentials.get("username", credentials.get("email"))
    if username is None and request is not None:
        username = request.POST.get("username", "")
    return (username or "").strip().lower()


def lockout_seconds(request=None) -> int:
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds())) if cool_off else 0


def lockout_message(request=None) -> str:
    seconds = lockout_seconds(request)
    wait = f"try again in {math.ceil(seconds / 60)} minute(s)" if seconds else "ask an administrator to unlock it"
    return f"Too many failed sign-ins for this account or from this address; {wait}."


def lockout_response(request, original_response=None, credentials=None):
    message = lockout_message(request)
    seconds = lockout_seconds(request)
    if request.path.startswith("/api/"):

        response = error_response(429, LOCKED_OUT_CODE, message)
    else:
        response = render(request, "accounts/locked_out.html", {"message": message}, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
