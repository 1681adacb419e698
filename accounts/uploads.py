"""Request bodies: who may send one, and how big it may be, decided before it is read.

Django parses a multipart body the first time anything touches `request.POST` or `request.FILES`, streaming
every file to a temporary file. For the API that first touch is the CSRF check of a session caller (Django
looks for the token in the form before the header), which runs before the caller is known. So:

- `UploadGuardMiddleware` answers a multipart request to the API from a caller the API would refuse
  (no valid token, no signed-in session, or a session whose X-CSRFToken header fails) with 401/403 in the
  API's error shape, before one byte of the body is read;
- it tells the upload handler (media_pipeline.uploads) the limit of the endpoint the request goes to
  (UPLOAD_LIMITS), which aborts the stream as soon as that many bytes have arrived.
"""

from __future__ import annotations

from django.conf import settings
from django.http import QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.datastructures import MultiValueDict

from accounts.services import api_token_find
from core.errors import CSRF_FAILED, error_response

# URL name of an endpoint that takes a file → the setting holding its limit in bytes. Any other multipart
# request gets MEDIA_MAX_UPLOAD_BYTES (the largest file the platform accepts anywhere).
UPLOAD_LIMITS = {
    "api:upload_video": "MEDIA_MAX_UPLOAD_BYTES",
    "api:upload_file": "IPFS_UPLOAD_MAX_BYTES",
}
API_NAMESPACE = "api"


def upload_limit(request) -> int:
    return getattr(request, "upload_max_bytes", None) or settings.MEDIA_MAX_UPLOAD_BYTES


def is_api_request(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.namespace == API_NAMESPACE


def csrf_failure_without_body(request) -> bool:
    """Whether Django's CSRF check fails when the token may come from the X-CSRFToken header only.

    The API takes the token from the header (see accounts.auth); handing the check an empty form keeps it
    from parsing the upload to look for a form field. A passing check is remembered on the request
    (`csrf_processing_done`), so the API's own check later does not parse the body either.
    """
    stubbed = "_post" not in request.__dict__
    if stubbed:
        request._post, request._files = QueryDict(), MultiValueDict()
    try:
        return CsrfViewMiddleware(lambda _request: None).process_view(request, None, (), {}) is not None
    finally:
        if stubbed:
            del request._post, request._files


class UploadGuardMiddleware:
    """After AuthenticationMiddleware: refuses unauthenticated or CSRF-failing API uploads unread."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        setting = UPLOAD_LIMITS.get(f"{match.namespace}:{match.url_name}" if match else "")
        if setting:
            request.upload_max_bytes = getattr(settings, setting)
        if not is_api_request(request) or request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return None
        if not request.content_type.startswith("multipart/"):
            return None  # other bodies are read (JSON, within DATA_UPLOAD_MAX_MEMORY_SIZE) after authentication

        if authorization := request.headers.get("Authorization"):
            # Only whether the token is valid: its scopes are the endpoint's to check, with its own message.
            scheme, _, raw_token = authorization.partition(" ")
            api_token = api_token_find(raw_token=raw_token.strip()) if scheme.lower() == "bearer" else None
            if api_token is None:
                return error_response(401, "unauthorized", "Authentication required.")
            request.api_token = api_token  # the endpoint's authenticator takes it from here: one lookup a request
            return None  # a token is not a browser's ambient credential: no CSRF
        if not request.user.is_authenticated:
            return error_response(401, "unauthorized", "Authentication required.")
        if csrf_failure_without_body(request):
            return error_response(403, *CSRF_FAILED)
        return None
