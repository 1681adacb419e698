"""The files behind signed playback links: `/play/<video id>/<token>/<path>`."""

import time

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.views.decorators.http import require_safe

from accounts.models import TokenScope
from accounts.services import api_token_find
from core.errors import NotFound, PermissionDenied
from core.http import content_type_for, ranged_file_response
from media_pipeline import playback


def requester_of(request):
    """The session's user, or the owner of a personal API token with the `read` scope sent as `Authorization: Bearer`."""
    if request.user.is_authenticated:
        return request.user
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        api_token = api_token_find(raw_token=token.strip())
        if api_token is not None and TokenScope.READ.value in api_token.scopes:
            return api_token.user
    return None


@require_safe
def serve_signed_hls(request, video_id: int, token: str, path: str):
    try:
        target = playback.playback_file(video_id=video_id, token=token, path=path, requester=lambda: requester_of(request))
    except PermissionDenied as error:
        return HttpResponseForbidden(error.message, content_type="text/plain; charset=utf-8")
    except NotFound as error:
        return HttpResponseNotFound(error.message, content_type="text/plain; charset=utf-8")
    expires = int(token.split("-")[1])
    cache = f"private, max-age={max(0, min(3600, expires - int(time.time())))}"
    if settings.PLAYBACK_ACCEL_REDIRECT_PREFIX:
        # nginx (an `internal` location aliased to MEDIA_ROOT) streams the file and handles ranges.
        response = HttpResponse(content_type=content_type_for(target.name))
        relative = target.relative_to(settings.MEDIA_ROOT.resolve()).as_posix()
        response["X-Accel-Redirect"] = settings.PLAYBACK_ACCEL_REDIRECT_PREFIX.rstrip("/") + "/" + relative
        response["Cache-Control"] = cache
        return response
    return ranged_file_response(request, target, cache_control=cache)
