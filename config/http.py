"""HTTP helpers shared by the views that hand out files (signed playback, the IPFS gateway):
byte ranges and content types."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

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
RANGE_PATTERN = re.compile(r"^bytes=\s*(\d*)\s*-\s*(\d*)$")
CHUNK_SIZE = 64 * 1024


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
        length = int(end_text)
        if length == 0:
            raise UnsatisfiableRange
        return max(0, size - length), size - 1
    start = int(start_text)
    end = int(end_text) if end_text else size - 1
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
