"""Every operation of the API as its OpenAPI schema describes it, sorted into the kinds the
permission and query-count tests cover. Read from the schema, so an endpoint added tomorrow
shows up here without anyone listing it, and the tests that use this fail until it has a case."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as in the schema: /api/videos/{video_id}
    path_params: tuple[str, ...]
    anonymous_allowed: bool  # no security, or `{}` among its security requirements
    paginated: bool  # answers {"items": [...], "count": N}
    returns_list: bool  # answers a page ({"items", "count"}) or a bare array

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, **params) -> str:
        return re.sub(r"{(\w+)}", lambda match: str(params[match[1]]), self.path)


def _success_body(schema: dict, operation: dict) -> dict:
    responses = operation.get("responses", {})
    ok = responses.get(200) or responses.get("200") or {}  # ninja's own keys are ints
    body = ok.get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    return schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}) if ref else body


@cache
def api_operations(api=None, path_prefix: str | None = None) -> tuple[Operation, ...]:
    """The operations of Flowcast's API (or of `api`, an API not mounted anywhere, under `path_prefix`)."""
    if api is None:
        from config.api import api
    schema = api.get_openapi_schema(path_prefix=path_prefix)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security")
            body = _success_body(schema, operation)
            paginated = {"items", "count"} <= set(body.get("properties", {}))
            found.append(Operation(
                method=method.upper(),
                path=path,
                path_params=tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "path"),
                anonymous_allowed=not security or {} in security,
                paginated=paginated,
                returns_list=paginated or body.get("type") == "array",
            ))
    return tuple(found)


def object_operations(api=None, path_prefix: str | None = None) -> list[Operation]:
    """Operations on one object named in the path (`/videos/{video_id}`, `/records/{record_id}/retry`)."""
    return [op for op in api_operations(api, path_prefix) if op.path_params]


def list_operations(api=None, path_prefix: str | None = None) -> list[Operation]:
    """GET operations answering a list (a page of one, or a bare array)."""
    return [op for op in api_operations(api, path_prefix) if op.method == "GET" and op.returns_list]


def operation(key: str) -> Operation:
    """`"GET /api/videos/{video_id}"` → its Operation (KeyError when the schema has no such operation)."""
    for op in api_operations():
        if op.key == key:
            return op
    raise KeyError(key)
