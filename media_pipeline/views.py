"""Pages for people: the home listing, the player (`/watch/<id>`), a creator's studio and sign-in.

Thin: the data comes from media_pipeline.services; the player's files go out through the same
signed `/play/` links the API hands out.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from core.errors import NotFound
from media_pipeline import services
from media_pipeline.models import Video

HOME_PAGE_SIZE = 24


def home(request):
    """Ready public and paid videos, newest first."""
    # The cards show each creator's name: one join instead of a query per card.
    videos = services.videos_visible(user=None).select_related("owner")
    page = Paginator(videos, HOME_PAGE_SIZE).get_page(request.GET.get("page"))
    cards = [services.video_card(video=video, viewer=request.user) for video in page]
    return render(request, "player/home.html", {"page": page, "cards": cards})


def watch(request, video_id: int):
    try:
        video = services.video_get(video_id=video_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from None
    player = services.video_player_context(video=video, viewer=request.user)
    return render(request, "player/watch.html", {"video": video, "player": player})


@login_required(login_url="signin")
@ensure_csrf_cookie  # the upload form posts to the API with the session and this cookie's token
def studio(request):
    return render(request, "player/studio.html", {
        "videos": services.creator_videos(owner=request.user),
        "visibilities": Video.Visibility.choices,
        "max_upload_bytes": settings.MEDIA_MAX_UPLOAD_BYTES,
    })


signin = auth_views.LoginView.as_view(template_name="player/signin.html", redirect_authenticated_user=True)
signout = auth_views.LogoutView.as_view(next_page="home")
