from django.conf import settings
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

# Past this an offset is a mistake or a probe; databases reject offsets beyond 64 bits with a 500.
MAX_OFFSET = 10**9


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` on every list, both bounded; answers `{"items": [...], "count": N}`."""

    class Input(Schema):
        limit: int = Field(settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
