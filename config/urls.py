from django.contrib import admin
from django.urls import include, path, re_path
from django_q.admin import resubmit_task

from config.api import api, unknown_api_path
from media_pipeline.playback_views import serve_signed_hls
from pinning.views import ipfs_gateway, kubo_rpc

admin.site.site_header = "Flowcast administration"
admin.site.site_title = "Flowcast admin"
admin.site.index_title = "Run the platform"
# django-q2's task lists offer "Resubmit" to anyone who may view them; like every action that changes data
# here, it needs the change permission.
admin.action(permissions=["change"])(resubmit_task)

# MEDIA_ROOT is never served as a folder: it holds the sources of private and paid videos.
# Published outputs go out through signed playback links (and nginx's X-Accel-Redirect in production).
urlpatterns = [
    path("admin/", admin.site.urls),
    # The embedded IPFS node: its Kubo-compatible RPC subset (before the NinjaAPI's api/) and its gateway.
    re_path(r"^api/v0/(?P<command>[a-z/]+)$", kubo_rpc, name="ipfs-rpc"),
    re_path(r"^ipfs/(?P<cid>[^/]+)(?:/(?P<path>.*))?$", ipfs_gateway, name="ipfs-gateway"),
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", unknown_api_path),
    path("play/<int:video_id>/<str:token>/<path:path>", serve_signed_hls, name="signed-hls"),
    # Pages: home, /watch/<id>, /studio/, sign-in.
    path("", include("media_pipeline.urls")),
]
