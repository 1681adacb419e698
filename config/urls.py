from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path

from config.api import api
from media_pipeline.playback_views import serve_signed_hls

admin.site.site_header = "Flowcast administration"
admin.site.site_title = "Flowcast admin"
admin.site.index_title = "Run the platform"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("play/<int:video_id>/<str:token>/<path:path>", serve_signed_hls, name="signed-hls"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
