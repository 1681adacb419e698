from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path, re_path

from config.api import api
from media_pipeline.playback_views import serve_signed_hls
from integrations.views import ipfs_gateway, kubo_rpc

admin.site.site_header = "Flowcast administration"
admin.site.site_title = "Flowcast admin"
admin.site.index_title = "Run the platform"

urlpatterns = [
    path("admin/", admin.site.urls),
    # The embedded IPFS node: its Kubo-compatible RPC subset (before the NinjaAPI's api/) and its gateway.
    re_path(r"^api/v0/(?P<command>[a-z/]+)$", kubo_rpc, name="ipfs-rpc"),
    re_path(r"^ipfs/(?P<cid>[^/]+)(?:/(?P<path>.*))?$", ipfs_gateway, name="ipfs-gateway"),
    path("api/", api.urls),
    path("play/<int:video_id>/<str:token>/<path:path>", serve_signed_hls, name="signed-hls"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
