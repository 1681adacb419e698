"""The one NinjaAPI of Flowcast, mounted at /api/ (docs at /api/docs).

Apps add their routers here. Every error leaves as `ErrorOut`.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from config.errors import ServiceError
from config.health import platform_health
from config.schemas import ErrorOut
from media_pipeline.api import router as media_router

api = NinjaAPI(
    title="Flowcast API",
    version="1.0.0",
    description="Upload videos, watch them as adaptive HLS, pay creators on-chain.",
    urls_namespace="api",
)


def error_response(request, status: int, code: str, message: str, fields: dict | None = None):
    return api.create_response(request, {"code": code, "message": message, "fields": fields or {}}, status=status)


@api.exception_handler(ServiceError)
def on_service_error(request, error: ServiceError):
    return error_response(request, error.status, error.code, error.message, error.fields)


@api.exception_handler(NinjaValidationError)
def on_request_validation_error(request, error: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for item in error.errors:
        location = [str(part) for part in item.get("loc", []) if part not in {"body", "query", "path", "form", "file", "payload"}]
        fields.setdefault(".".join(location) or "__all__", []).append(item.get("msg", "invalid"))
    return error_response(request, 422, "validation_error", "The request is not valid.", fields)


@api.exception_handler(DjangoValidationError)
def on_model_validation_error(request, error: DjangoValidationError):
    fields = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    return error_response(request, 400, "invalid", "; ".join(error.messages), fields)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, error):
    return error_response(request, 401, "unauthorized", "Authentication required.")


@api.exception_handler(HttpError)
def on_http_error(request, error: HttpError):
    return error_response(request, error.status_code, f"http_{error.status_code}", str(error.message))


@api.exception_handler(Http404)
def on_not_found(request, error):
    return error_response(request, 404, "not_found", str(error) or "Not found.")


@api.exception_handler(DjangoPermissionDenied)
def on_permission_denied(request, error):
    return error_response(request, 403, "forbidden", str(error) or "You may not do this.")


class PartHealthOut(Schema):
    ok: bool
    detail: str
    latency_ms: float


class HealthOut(Schema):
    status: str
    parts: dict[str, PartHealthOut]


@api.get("/health", response={200: HealthOut, 503: HealthOut}, tags=["health"], auth=None)
def health(request):
    """Each part of the platform, ok or unavailable with the reason. 503 when the database is down."""
    parts = platform_health()
    if not parts["database"].ok:
        status = "unavailable"
    elif all(part.ok for part in parts.values()):
        status = "ok"
    else:
        status = "degraded"
    return Status(503 if status == "unavailable" else 200, {"status": status, "parts": parts})


api.add_router("/videos", media_router)
