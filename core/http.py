"""HTTP helpers shared by the views: byte ranges and content types (signed playback, the IPFS gateway),
the client's address behind trusted proxies, numbers parsed from requests, and who may reach operator surfaces."""

from __future__ import annotations

import hmac
import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import http_date

# Types Python's mimetypes table lacks or gets wrong for streaming.
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".webp": "image/webp",
}
RANGE_PATTERN = re.compile(r"^bytes=\s*([0-9]*)\s*-\s*([0-9]*)$")
CHUNK_SIZE = 64 * 1024


ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")
LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")
# Headers a reverse proxy adds: a request carrying one did not come from this machine, whatever REMOTE_ADDR says.
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def ascii_int(text: str) -> int:
    """`int(text)` for ASCII digits only (with an optional sign); ValueError otherwise.

    Python's int() also reads other scripts' digits ("١٢", "１２") and str.isdigit() accepts "²",
    which int() then refuses: numbers from requests go through here, never through int() alone."""
    if not isinstance(text, str) or not ASCII_INTEGER.fullmatch(text):
        raise ValueError(f"{text!r} is not a whole number in ASCII digits")
    return int(text)


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or when NINJA_NUM_PROXIES (default 0) trusted proxies stand in
    front, the address the outermost trusted proxy saw (the N-th entry of X-Forwarded-For from the right).

    Entries further left were written by the client and are never trusted. The throttles, the login
    lockout (django-axes) and anything else that counts per address use this one function."""
    remote_addr = request.META.get("REMOTE_ADDR")
    proxies = settings.NINJA_NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",")]
    return addresses[-min(proxies, len(addresses))] or remote_addr


def bearer_matches(request, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (constant-time); never for an empty token."""
    if not token:
        return False
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def local_debug_request(request) -> bool:
    """A request from this machine while DEBUG is on and no proxy is trusted (`make run`): operator
    surfaces may let it in without a token. Off when DEBUG is off, when a proxy is configured, or when
    the request carries a proxy's headers, because behind a proxy every client is loopback."""
    if not settings.DEBUG or (settings.NINJA_NUM_PROXIES or 0) > 0:
        return False
    if any(request.headers.get(name) for name in PROXY_HEADERS):
        return False
    return request.META.get("REMOTE_ADDR") in LOOPBACK_ADDRESSES


def content_type_for(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class UnsatisfiableRange(Exception):
    pass


def parse_byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes asked for by a single-range `Range` header, or None for the whole body.

    Several ranges, or a header we don't understand, get the whole body (RFC 9110
    lets a server ignore Range). A range starting past the end is unsatisfiable.
    """
    if not header:
        return None
    match = RANGE_PATTERN.match(header.strip())
    if not match:
        return None
    start_text, end_text = match.groups()
    if not start_text and not end_text:
        return None
    if not start_text:  # the last N bytes
        length = ascii_int(end_text)
        if length == 0:
            raise UnsatisfiableRange
        return max(0, size - length), size - 1
    start = ascii_int(start_text)
    end = ascii_int(end_text) if end_text else size - 1
    if start >= size or end < start:
        raise UnsatisfiableRange
    return start, min(end, size - 1)


def read_slice(path: Path, start: int, length: int):
    with path.open("rb") as handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK_SIZE, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def ranged_file_response(request, path: Path, *, content_type: str | None = None, cache_control: str | None = None):
    """Serve `path` with `Accept-Ranges`, answering a single byte range with 206 (416 when out of range)."""
    stat = path.stat()
    size = stat.st_size
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
    content_type = content_type or content_type_for(path.name)
    byte_range = None
    if_range = request.headers.get("If-Range")
    if not if_range or if_range == etag:
        try:
            byte_range = parse_byte_range(request.headers.get("Range"), size)
        except UnsatisfiableRange:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            response["Accept-Ranges"] = "bytes"
            return response
    if byte_range is None:
        response = FileResponse(path.open("rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = byte_range
        response = StreamingHttpResponse(read_slice(path, start, end - start + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(stat.st_mtime)
    if cache_control:
        response["Cache-Control"] = cache_control
    return response
