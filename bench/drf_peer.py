"""The peer of bench/api.py: the same video list, detail and playback served by Django REST Framework,
as a DRF site (MediaCMS's API) would write them: ModelSerializers, LimitOffsetPagination, generic views.

It reads through the same selectors and signs through the same playback module, and answers the same JSON
as /api/videos/ (the bench compares them item by item), so the difference is the framework's. Mounted only
by bench/api_urls.py; "rest_framework" is installed only by bench/api_settings.py, never by the app.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import path
from rest_framework import generics, serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from media_pipeline import playback, selectors
from media_pipeline.models import Rendition, Video


class JSONDateTimeField(serializers.DateTimeField):
    """Datetimes as django-ninja writes them (Django's JSON encoder: milliseconds, `Z` for UTC)."""

    def to_representation(self, value):
        return None if value is None else DjangoJSONEncoder().default(value)


class DRFVideoSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateTimeField: JSONDateTimeField}
    price = serializers.SerializerMethodField()
    stream_rate = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = ["id", "title", "description", "visibility", "status", "owner_id", "price", "stream_rate", "duration",
                  "source_width", "source_height", "error_message", "thumbnail_url", "created_at", "ready_at"]

    owner_id = serializers.IntegerField()

    def get_price(self, video):
        return None if video.price is None else str(video.price)

    def get_stream_rate(self, video):
        return None if video.stream_rate is None else str(video.stream_rate)

    def get_thumbnail_url(self, video):
        return playback.thumbnail_url(video=video, viewer=self.context["request"].user) or None


class DRFRenditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rendition
        fields = ["name", "width", "height", "video_bitrate", "audio_bitrate", "codecs", "frame_rate", "bandwidth",
                  "average_bandwidth"]


class DRFVideoDetailSerializer(DRFVideoSerializer):
    renditions = DRFRenditionSerializer(many=True)

    class Meta(DRFVideoSerializer.Meta):
        fields = [*DRFVideoSerializer.Meta.fields, "source_fps", "source_video_codec", "source_audio_codec",
                  "renditions"]


class DRFVariantSerializer(DRFRenditionSerializer):
    url = serializers.CharField()

    class Meta(DRFRenditionSerializer.Meta):
        fields = [*DRFRenditionSerializer.Meta.fields, "url"]


class DRFPlaybackSerializer(serializers.Serializer):
    master_url = serializers.CharField()
    thumbnail_url = serializers.CharField()
    storyboard_vtt_url = serializers.CharField()
    storyboard_image_url = serializers.CharField()
    expires_at = JSONDateTimeField()
    variants = DRFVariantSerializer(many=True)


class ItemsCountPagination(LimitOffsetPagination):
    """DRF's limit/offset pagination answering ninja's page shape: `{"items": [...], "count": N}`."""

    default_limit = 20
    max_limit = 100

    def get_paginated_response(self, data):
        return Response({"items": data, "count": self.count})


class DRFVideoList(generics.ListAPIView):
    serializer_class = DRFVideoSerializer
    pagination_class = ItemsCountPagination
    permission_classes = [AllowAny]

    def get_queryset(self):
        return selectors.videos_visible(user=self.request.user)


class DRFVideoDetail(generics.RetrieveAPIView):
    serializer_class = DRFVideoDetailSerializer
    permission_classes = [AllowAny]

    def get_object(self):
        return selectors.video_get(video_id=self.kwargs["video_id"], user=self.request.user)


class DRFVideoPlayback(APIView):
    permission_classes = [AllowAny]

    def get(self, request, video_id: int):
        video = selectors.video_get(video_id=video_id, user=request.user)
        links = playback.playback_links(video=video, viewer=request.user)
        data = {"master_url": links.master_url, "thumbnail_url": links.thumbnail_url,
                "storyboard_vtt_url": links.storyboard_vtt_url, "storyboard_image_url": links.storyboard_image_url,
                "expires_at": links.expires_at,
                "variants": [{**DRFRenditionSerializer(rendition).data, "url": url} for rendition, url in links.variants]}
        return Response(DRFPlaybackSerializer(data).data)


urlpatterns = [
    path("videos/", DRFVideoList.as_view()),
    path("videos/<int:video_id>", DRFVideoDetail.as_view()),
    path("videos/<int:video_id>/playback", DRFVideoPlayback.as_view()),
]
