"""URLs for bench/api.py: the project's, plus the baseline, a bare django-ninja endpoint
(no auth, no database), and the peer, the same endpoints in Django REST Framework (bench/drf_peer.py),
mounted in the same server process."""

from django.urls import include, path
from ninja import NinjaAPI

from config.urls import urlpatterns as project_urlpatterns

bare = NinjaAPI(urls_namespace="bench-bare", docs_url=None, openapi_url=None)


@bare.get("/ping", auth=None)
def ping(request):
    return {"ok": True}


urlpatterns = [path("bench-bare/", bare.urls), path("bench-drf/", include("bench.drf_peer")), *project_urlpatterns]
