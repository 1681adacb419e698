import functools
import json

from django.conf import settings
from django.http import HttpResponse
from ninja.responses import NinjaJSONEncoder
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

# Past this an offset is a mistake or a probe; databases reject offsets beyond 64 bits with a 500.
MAX_OFFSET = 10**9


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` on every list, both bounded; answers `{"items": [...], "count": N}`."""

    class Input(Schema):
        limit: int = Field(settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)


def rendered_as_is(view):
    """For a view (or, over `@paginate`, a page) answering 200 with dicts already in its response schema's
    shape and key order, built from database rows by our code rather than from a caller: renders them as
    ninja's JSON renderer would, byte for byte, without validating them again with pydantic (a third of a
    listing's time). Errors still leave through the API's handlers. Tests compare with the validated answer."""

    @functools.wraps(view)
    def rendered(request, *args, **kwargs):
        page = view(request, *args, **kwargs)
        return HttpResponse(json.dumps(page, cls=NinjaJSONEncoder), content_type="application/json; charset=utf-8")

    return rendered
