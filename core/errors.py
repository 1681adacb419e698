"""Errors that services raise for failures the caller caused.

The API turns each into one JSON shape (`{"code", "message", "fields"}`) with its
status; admin actions and management commands show `message` as it is.
"""

from __future__ import annotations

import json

from django.http import HttpResponse


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class NotAuthenticated(ServiceError):
    status = 401
    code = "unauthorized"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "too_large"


class TooManyAttempts(ServiceError):
    status = 429
    code = "locked_out"


# Ninja's own messages that reach the error shape, reworded to say what to do.
CSRF_FAILED = ("csrf_failed", "CSRF check failed: GET /api/auth/csrf, then send its token as X-CSRFToken.")


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> HttpResponse:
    """The API's one error shape, for answers given outside a ninja operation (middleware, lockouts)."""
    body = {"code": code, "message": message, "fields": fields or {}}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
