"""The IPFS gateway: `/ipfs/<cid>[/<path>]` served from the embedded node.

A path gateway (content types, HTTP Range, directory listings so an HLS folder
plays straight from it) and the trustless gateway's `?format=raw|car` and
`Accept: application/vnd.ipld.raw|car`. Bytes are only sent after the block
holding them hashed to its CID: the first block is checked before the headers
leave (502 if corrupt), a corrupt later block ends the stream early.

User bytes never run script with the app's cookies (SECURITY.md): every response, errors and redirects
included, carries `X-Content-Type-Options: nosniff` and a `Content-Security-Policy` sandbox. On the app's
origin the sandbox has no `allow-scripts` and anything but a passive type (video, audio, raster images,
HLS playlists and segments, plain text, JSON) is an attachment. On the separate gateway origin
(IPFS_GATEWAY_ORIGIN, one subdomain per CID, see pinning/middleware.py) HTML renders and its script
runs, but still sandboxed without `allow-same-origin`: an opaque origin that can neither read nor write
the cookies or storage of the app (which may be same-site) or of another CID.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponsePermanentRedirect, StreamingHttpResponse
from django.utils.html import format_html, format_html_join

from core.http import UnsatisfiableRange, ascii_int, content_type_for, parse_byte_range
from integrations.ipfs import links
from integrations.ipfs.cid import InvalidCID, cid_parse, cid_to_str
from integrations.ipfs.node import BlockMissing, CorruptBlock, EmbeddedNode, IPFSError, PathNotFound

CAR_TYPE = "application/vnd.ipld.car"
RAW_TYPE = "application/vnd.ipld.raw"
IMMUTABLE = "public, max-age=29030400, immutable"

# On the app's origin: a unique opaque origin with no script, no forms, no plugins, no popups.
APP_ORIGIN_SANDBOX = "sandbox"
# On the separate gateway origin: pages work (script, forms, popups, downloads) but never same-origin.
GATEWAY_ORIGIN_SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-downloads"
# What a browser shows inline on the app's origin; it never executes these. Everything else is an attachment.
PASSIVE_PREFIXES = ("video/", "audio/")
PASSIVE_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
    "application/vnd.apple.mpegurl", "application/x-mpegurl",
    "text/plain", "text/vtt", "text/csv", "application/json",
})


def is_passive(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media in PASSIVE_TYPES or media.startswith(PASSIVE_PREFIXES)


def content_url(cid: str, *, directory: bool = False, filename: str = "") -> str:
    """The link the app hands out for a CID: on the separate gateway origin when one is configured
    (`<cidv1>.<host>`, Kubo's subdomain form), else under IPFS_GATEWAY_URL."""
    return links.content_url(cid, gateway_url=settings.IPFS_GATEWAY_URL, gateway_origin=settings.IPFS_GATEWAY_ORIGIN,
                             directory=directory, filename=filename)


def confine(response, *, separate_origin: bool, filename: str = ""):
    """The headers that keep user bytes from running script with the app's cookies (see the module doc)."""
    response["Content-Security-Policy"] = GATEWAY_ORIGIN_SANDBOX if separate_origin else APP_ORIGIN_SANDBOX
    response["X-Content-Type-Options"] = "nosniff"
    if separate_origin or getattr(response, "gateway_listing", False) or response.status_code not in (200, 206):
        return response
    if not is_passive(response.get("Content-Type", "")) and "X-Ipfs-Path" in response:
        name = filename or response["X-Ipfs-Path"].rstrip("/").rsplit("/", 1)[-1]
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


def plain(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def requested_format(request) -> str | None:
    """`?format=` wins over `Accept`; None means a plain (deserialised) response."""
    value = request.GET.get("format")
    if value is not None:
        if value not in ("raw", "car"):
            raise ValueError(f"unsupported format {value!r} (use raw or car)")
        return value
    accept = request.headers.get("Accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media == RAW_TYPE:
            return "raw"
        if media == CAR_TYPE:
            return "car"
    return None


def primed(chunks):
    """Pull the first chunk now, so a missing or corrupt first block fails before any header is sent."""
    iterator = iter(chunks)
    try:
        first = next(iterator)
    except StopIteration:
        return iter(())

    def rest():
        yield first
        yield from iterator

    return rest()


def ipfs_gateway(request, cid: str, path: str = "", *, node: EmbeddedNode, separate_origin: bool = False):
    response = _gateway(request, cid, path, node=node)
    return confine(response, separate_origin=separate_origin, filename=request.GET.get("filename", ""))


def _gateway(request, cid: str, path: str, *, node: EmbeddedNode):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    try:
        root = cid_parse(cid)
    except InvalidCID as error:
        return plain(400, f"invalid CID: {error}")
    segments = [segment for segment in (path or "").split("/") if segment]
    if any(segment in (".", "..") for segment in segments):
        return plain(400, "invalid path: '.' and '..' are not allowed")
    try:
        fmt = requested_format(request)
    except ValueError as error:
        return plain(400, str(error))
    try:
        response = _serve(request, node, root, segments, fmt)
    except (PathNotFound, BlockMissing) as error:
        return plain(404, str(error))
    except CorruptBlock as error:
        return plain(502, f"refusing to serve: {error}")
    except (IPFSError, ValueError) as error:  # e.g. a UnixFS symlink or metadata node: nothing we can render
        return plain(501, f"cannot serve this node: {error}")
    if response.status_code < 400 and "X-Ipfs-Path" in response:
        response["X-Ipfs-Roots"] = cid_to_str(root)
    return response


def _serve(request, node, root: bytes, segments: list[str], fmt: str | None):
    target = node.resolve(root, segments)
    content_path = "/ipfs/" + cid_to_str(root) + ("/" + "/".join(segments) if segments else "")
    if fmt == "raw":
        return raw_response(request, node, target, content_path)
    if fmt == "car":
        return car_response(request, node, target, content_path)
    stat = node.stat(target)
    if stat.type == "directory":
        return directory_response(request, node, target, content_path, segments)
    name = segments[-1] if segments else request.GET.get("filename", "")
    response = file_response(request, node, target, stat.size, content_type_for(name), content_path)
    if request.GET.get("filename") and response.status_code in (200, 206):
        disposition = "attachment" if request.GET.get("download") == "true" else "inline"
        response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(request.GET['filename'])}"
    return response


def common_headers(response, *, etag: str, content_path: str, cid: bytes):
    response["Etag"] = etag
    response["Cache-Control"] = IMMUTABLE
    response["X-Ipfs-Path"] = content_path
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Content-Range, Content-Length, X-Ipfs-Path, X-Ipfs-Roots"
    return response


def not_modified(request, etag: str) -> bool:
    tags = [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]
    return etag in tags or "*" in tags


def raw_response(request, node, target, content_path):
    etag = f'"{cid_to_str(target)}.raw"'
    if not_modified(request, etag):
        return common_headers(HttpResponse(status=304), etag=etag, content_path=content_path, cid=target)
    block = node.get_block(target)
    response = HttpResponse(b"" if request.method == "HEAD" else block, content_type=RAW_TYPE)
    response["Content-Length"] = str(len(block))
    response["Content-Disposition"] = f'attachment; filename="{cid_to_str(target)}.bin"'
    response["Vary"] = "Accept"
    return common_headers(response, etag=etag, content_path=content_path, cid=target)


def car_response(request, node, target, content_path):
    scope = request.GET.get("dag-scope", "all")
    if scope not in ("all", "entity", "block"):
        return plain(400, f"unsupported dag-scope {scope!r} (use all, entity or block)")
    etag = f'"{cid_to_str(target)}.car.{scope}"'
    if not_modified(request, etag):
        return common_headers(HttpResponse(status=304), etag=etag, content_path=content_path, cid=target)
    byte_range = None
    if "entity-bytes" in request.GET:
        if scope != "entity":
            return plain(400, "entity-bytes needs dag-scope=entity")
        try:
            byte_range = parse_entity_bytes(request.GET["entity-bytes"], node.stat(target).size)
        except ValueError as error:
            return plain(400, str(error))
        etag = etag[:-1] + f'.{request.GET["entity-bytes"]}"'
    if request.method == "HEAD":
        node.get_block(target)
        response = HttpResponse(b"", content_type=f"{CAR_TYPE}; version=1")
    else:
        # header + the root's section, verified, before the response starts
        chunks = node.export_car(target, scope=scope, byte_range=byte_range)
        response = StreamingHttpResponse(primed(_chain_first(chunks, 3)), content_type=f"{CAR_TYPE}; version=1")
    response["Content-Disposition"] = f'attachment; filename="{cid_to_str(target)}.car"'
    response["Vary"] = "Accept"
    return common_headers(response, etag=etag, content_path=content_path, cid=target)


def _chain_first(chunks, count):
    """Join the first `count` chunks (CAR header, root section head, root block) into one."""
    iterator = iter(chunks)
    head = []
    for _ in range(count):
        try:
            head.append(next(iterator))
        except StopIteration:
            break
    yield b"".join(head)
    yield from iterator


def parse_entity_bytes(value: str, size: int) -> tuple[int, int | None]:
    """`from:to` of the trustless gateway (inclusive `to`, `*` for the end, negatives count from the end)."""
    first, separator, last = value.partition(":")
    try:
        start = ascii_int(first)
        stop = None if last == "*" else ascii_int(last)
    except ValueError:
        raise ValueError(f"entity-bytes {value!r} must be from:to (integers, to may be *)") from None
    if not separator:
        raise ValueError(f"entity-bytes {value!r} must be from:to")
    start = max(size + start, 0) if start < 0 else start
    if stop is not None:
        stop = size + stop if stop < 0 else stop
        if stop < start:
            raise ValueError(f"entity-bytes {value!r}: to is before from")
        stop += 1  # inclusive
    return start, stop


def file_response(request, node, target, size, content_type, content_path):
    etag = f'"{cid_to_str(target)}"'
    if not_modified(request, etag):
        return common_headers(HttpResponse(status=304), etag=etag, content_path=content_path, cid=target)
    try:
        span = parse_byte_range(request.headers.get("Range"), size)
    except UnsatisfiableRange:
        response = plain(416, f"range not satisfiable (size {size})")
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = (span[0], span[1] + 1) if span else (0, size)
    if request.method == "HEAD":
        node.get_block(target)
        response = HttpResponse(b"", content_type=content_type, status=206 if span else 200)
    else:
        body = primed(node.cat(target, offset=start, length=end - start))
        response = StreamingHttpResponse(body, content_type=content_type, status=206 if span else 200)
    response["Content-Length"] = str(end - start)
    if span:
        response["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response["Accept-Ranges"] = "bytes"
    return common_headers(response, etag=etag, content_path=content_path, cid=target)


def directory_response(request, node, target, content_path, segments):
    if not request.path.endswith("/"):
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
    try:
        index = node.resolve(target, ["index.html"])
        if node.stat(index).type == "file":
            size = node.stat(index).size
            return file_response(request, node, index, size, content_type_for("index.html"), content_path + "/index.html")
    except PathNotFound:
        pass
    etag = f'"DirIndex-{cid_to_str(target)}"'
    if not_modified(request, etag):
        return common_headers(HttpResponse(status=304), etag=etag, content_path=content_path, cid=target)
    entries = node.ls(target)
    rows = format_html_join(
        "\n",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td><a href="{}">{}</a></td></tr>',
        (
            (quote(entry.name) + ("/" if entry.type == "directory" else ""), entry.name,
             entry.type, entry.size, content_url(entry.cid, directory=entry.type == "directory"), entry.cid[:12] + "…")
            for entry in entries
        ),
    )
    parent = format_html('<tr><td><a href="../">..</a></td><td></td><td></td><td></td></tr>') if segments else ""
    html = format_html(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>"
        "<h1>Index of {}</h1><p>{} entries</p><table><thead><tr><th>Name</th><th>Type</th><th>Size</th><th>CID</th>"
        "</tr></thead><tbody>{}{}</tbody></table></body></html>",
        content_path, content_path, len(entries), parent, rows,
    )
    response = HttpResponse(b"" if request.method == "HEAD" else html.encode(), content_type="text/html; charset=utf-8")
    response.gateway_listing = True  # our own escaped HTML: shown inline (sandboxed), unlike user HTML
    return common_headers(response, etag=etag, content_path=content_path, cid=target)


