"""The one NinjaAPI of Flowcast, mounted at /api/ (docs at /api/docs).

Apps add their routers here. Every error leaves as `ErrorOut`.
"""

import functools
import math

from django.conf import settings

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema
from pydantic import Field

from core.errors import CSRF_FAILED, ServiceError
from core.errors import error_response
from core.health import platform_health
from core.http import bearer_matches, local_debug_request
from core.schemas import ErrorOut

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
STANDARD_ERRORS = {
    "400": "The body could not be parsed, or its values were refused.",
    "401": "Not signed in, or the token is wrong, expired or revoked.",
    "403": "Signed in, but not allowed (or the CSRF check failed for a session).",
    "404": "No such object, or not yours to see.",
    "422": "The request does not match this operation's parameters or body.",
}


class FlowcastOpenAPISchema(OpenAPISchema):
    """Operations that let visitors in (accounts.auth.optional_auth) list `{}` among their security
    requirements, as OpenAPI spells "no authentication needed"."""

    def operation_security(self, operation):
        security = super().operation_security(operation)
        if security and any(getattr(auth, "allows_anonymous", False) for auth in operation.auth_callbacks):
            security.append({})
        return security


class FlowcastAPI(NinjaAPI):
    """NinjaAPI whose schema documents the error answers every operation can give, and whose
    every error answer has the error shape (see errors_in_shape)."""

    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            pattern.callback = errors_in_shape(pattern.callback)
        return patterns

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = FlowcastOpenAPISchema(self, path_prefix)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"))
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                codes = []
                if operation.get("security"):
                    codes += ["401", "403"]
                if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                    codes.append("404")
                if operation.get("requestBody"):
                    codes.append("400")
                if operation.get("parameters") or operation.get("requestBody"):
                    codes.append("422")
                for code in codes:
                    if int(code) in responses:  # documented by the operation itself (ninja keys are ints)
                        continue
                    responses.setdefault(
                        code,
                        {"description": STANDARD_ERRORS[code], "content": {"application/json": {"schema": ERROR_REF}}},
                    )
        return schema


api = FlowcastAPI(
    title="Flowcast API",
    version="1.0.0",
    description="Upload videos, watch them as adaptive HLS, pay creators on-chain.",
    urls_namespace="api",
)


def errors_in_shape(view):
    """Wraps the API's URL views: ninja answers a wrong method, and its root view a 404, outside
    the exception handlers."""

    @functools.wraps(view)
    def shaped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return error_response(404, "not_found",
                                  f"No API operation at {request.path}; the operations are listed at /api/docs.")
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = error_response(405, "method_not_allowed",
                                      f"{request.method} is not allowed here; allowed: {allowed}.")
            response["Allow"] = allowed
        return response

    return shaped


@api.exception_handler(ServiceError)
def on_service_error(request, error: ServiceError):
    return error_response(error.status, error.code, error.message, error.fields)


@api.exception_handler(NinjaValidationError)
def on_request_validation_error(request, error: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for item in error.errors:
        location = [str(part) for part in item.get("loc", []) if part not in {"body", "query", "path", "form", "file", "payload"}]
        fields.setdefault(".".join(location) or "__all__", []).append(item.get("msg", "invalid"))
    return error_response(422, "validation_error", "The request is not valid.", fields)


@api.exception_handler(DjangoValidationError)
def on_model_validation_error(request, error: DjangoValidationError):
    fields = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    return error_response(400, "invalid", "; ".join(error.messages), fields)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, error):
    return error_response(401, "unauthorized", "Authentication required.")


@api.exception_handler(AuthorizationError)
def on_authorization_error(request, error):
    return error_response(403, "forbidden", str(error.message))


@api.exception_handler(Throttled)
def on_throttled(request, error: Throttled):
    wait = math.ceil(error.wait or 1)  # ninja sends the same, rounded up, as Retry-After
    response = error_response(429, "throttled", f"Too many requests; try again in {wait} s.")
    response["Retry-After"] = str(wait)
    return response


# Messages ninja raises as HttpError, and what the API says instead.
NINJA_MESSAGES = {
    "Cannot parse request body": ("malformed_body", "The request body is not valid JSON (or not what this operation reads)."),
    "CSRF check Failed": CSRF_FAILED,
}


@api.exception_handler(HttpError)
def on_http_error(request, error: HttpError):
    codes = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    code, message = codes.get(error.status_code, f"http_{error.status_code}"), str(error.message)
    code, message = NINJA_MESSAGES.get(message.split(" (")[0], (code, message))
    return error_response(error.status_code, code, message)


@api.exception_handler(RequestDataTooBig)
def on_body_too_large(request, error):
    from media_pipeline.uploads import UploadTooLarge  # an upload stopped at its endpoint's limit says which

    message = "The request body is larger than this server accepts."
    if isinstance(error, UploadTooLarge):
        message = str(error)
    return error_response(413, "too_large", message)


@api.exception_handler(SuspiciousOperation)
def on_suspicious_request(request, error):
    # Too many fields or files, a malformed multipart body: the client's fault, not ours.
    return error_response(400, "bad_request", str(error) or "The request could not be read.")


@api.exception_handler(Http404)
def on_not_found(request, error):
    return error_response(404, "not_found", str(error) or "Not found.")


@api.exception_handler(DjangoPermissionDenied)
def on_permission_denied(request, error):
    return error_response(403, "forbidden", str(error) or "You may not do this.")


class PartHealthOut(Schema):
    ok: bool
    detail: str | None = Field(None, description="Staff and the health token only: versions, addresses, the error.")
    latency_ms: float | None = Field(None, description="Staff and the health token only.")


class HealthOut(Schema):
    status: str
    parts: dict[str, PartHealthOut]


def health_details_allowed(request) -> bool:
    """Details name paths, versions and URLs (which may carry a provider's key): staff sessions, the
    HEALTH_TOKEN bearer and `make run`'s local DEBUG requests see them; everyone else sees ok or not."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    return bearer_matches(request, settings.HEALTH_TOKEN) or local_debug_request(request)


@api.get("/health", response={200: HealthOut, 503: HealthOut}, tags=["health"], auth=None, exclude_none=True)
def health(request):
    """Overall status and each part ok or not; 503 when the database is down. With a staff session or
    `Authorization: Bearer <HEALTH_TOKEN>`, each part also says why (`detail`) and how fast (`latency_ms`)."""
    parts = platform_health()
    if not parts["database"].ok:
        status = "unavailable"
    elif all(part.ok for part in parts.values()):
        status = "ok"
    else:
        status = "degraded"
    if health_details_allowed(request):
        shown = {name: {"ok": part.ok, "detail": part.detail, "latency_ms": part.latency_ms} for name, part in parts.items()}
    else:
        shown = {name: {"ok": part.ok} for name, part in parts.items()}
    return Status(503 if status == "unavailable" else 200, {"status": status, "parts": shown})


from accounts.api import router as accounts_router  # noqa: E402
from accounts.api import siwe_router  # noqa: E402
from media_pipeline.api import router as media_router  # noqa: E402
from payments.api import router as payments_router  # noqa: E402
from pinning.api import router as ipfs_router  # noqa: E402

api.add_router("/auth/siwe", siwe_router)
api.add_router("/auth", accounts_router)
api.add_router("/videos", media_router)
api.add_router("/payments", payments_router)
api.add_router("/ipfs", ipfs_router)


@csrf_exempt
def unknown_api_path(request, rest=""):
    """Paths under /api/ that match no operation answer in the API's error shape, not Django's HTML page."""
    return error_response(404, "not_found", f"No API operation at {request.path}.")
