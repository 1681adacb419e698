import time
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden

from config.http import content_type_for, ranged_file_response
from media_pipeline.models import Video
from media_pipeline.playback_urls import InvalidPlaybackToken, signing_keys, verify_playback_token


def serve_signed_hls(request, video_id: int, token: str, path: str):
    """Hand out one file of a video's HLS folder to the viewer the URL was signed for."""
    try:
        grant = verify_playback_token(token, video_id=video_id, keys=signing_keys())
    except InvalidPlaybackToken as error:
        return HttpResponseForbidden(str(error), content_type="text/plain")
    viewer_id = request.user.pk if request.user.is_authenticated else 0
    if grant.viewer_id != viewer_id:
        return HttpResponseForbidden("this playback link was issued to another viewer", content_type="text/plain")
    video = Video.objects.filter(pk=video_id, status=Video.Status.READY).exclude(hls_path="").first()
    if video is None:
        raise Http404("no such video")
    root = (Path(settings.MEDIA_ROOT) / video.hls_path).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise Http404("no such file")
    cache = f"private, max-age={max(0, min(3600, grant.expires - int(time.time())))}"
    if settings.PLAYBACK_ACCEL_REDIRECT_PREFIX:
        # nginx (internal location) streams the file and handles ranges itself.
        response = HttpResponse(content_type=content_type_for(target.name))
        relative = target.relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()
        response["X-Accel-Redirect"] = settings.PLAYBACK_ACCEL_REDIRECT_PREFIX.rstrip("/") + "/" + relative
        response["Cache-Control"] = cache
        return response
    return ranged_file_response(request, target, cache_control=cache)
