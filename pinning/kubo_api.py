"""The embedded node's Kubo-compatible RPC subset at `/api/v0/...`, so tools made for Kubo can use it.

`add` (multipart, each part's filename the URL-escaped relative path, folders
as `application/x-directory` parts; cid-version, raw-leaves, only-hash,
wrap-with-directory, pin), `cat` (offset, length), `ls`, `pin/add`, `pin/rm`,
`pin/ls`, `repo/gc`, `dag/export`, `version`. Like Kubo: POST only (405
otherwise), errors as 500 `{"Message", "Code", "Type": "error"}`.
Access fails closed: every request needs `Authorization: Bearer <IPFS_RPC_TOKEN>`; without a token
configured the RPC answers 403 to everyone, loopback included (behind a reverse proxy on the same host
every client is loopback). Only `make run`'s shape, DEBUG on with no trusted proxy, lets a loopback
client in without a token (core.http.local_debug_request). Requests a browser sends cross-origin
(with an `Origin` header) are refused.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from core.http import ascii_int, bearer_matches, local_debug_request
from integrations.ipfs.cid import InvalidCID, cid_parse, cid_to_str
from integrations.ipfs.importer import AddedNode, Importer, ImportParams
from integrations.ipfs.node import EmbeddedNode, IPFSError

VERSION = "0.22.0-flowcast"


def rpc_error(message: str, status: int = 500) -> JsonResponse:
    return JsonResponse({"Message": message, "Code": 0, "Type": "error"}, status=status)


def _flag(request, name: str, default: bool) -> bool:
    value = request.GET.get(name)
    if value is None:
        return default
    return value.lower() in ("", "1", "true", "yes")


def _allowed(request) -> str | None:
    if request.headers.get("Origin") and request.headers["Origin"].rstrip("/") != settings.SITE_URL:
        return "cross-origin requests are not allowed"
    token = settings.IPFS_RPC_TOKEN
    if token:
        return None if bearer_matches(request, token) else "a valid bearer token (IPFS_RPC_TOKEN) is required"
    if local_debug_request(request):
        return None
    return "the RPC API is closed: set IPFS_RPC_TOKEN and send it as 'Authorization: Bearer <token>'"


def _split_arg(arg: str) -> tuple[bytes, list[str]]:
    text = arg.strip().removeprefix("/ipfs/")
    cid, _, rest = text.partition("/")
    return cid_parse(cid), [part for part in rest.split("/") if part]


@csrf_exempt
def kubo_rpc(request, command: str, *, node: EmbeddedNode):
    if request.method != "POST":
        return HttpResponse(f"405 - Method Not Allowed: use POST for /api/v0/{command}\n", status=405,
                            content_type="text/plain")
    refusal = _allowed(request)
    if refusal:
        return rpc_error(refusal, 403)
    handler = COMMANDS.get(command)
    if handler is None:
        return HttpResponse(f"404 page not found: /api/v0/{command} is not in this node's subset\n", status=404,
                            content_type="text/plain")
    try:
        return handler(request, node)
    except InvalidCID as error:
        return rpc_error(f"invalid path: {error}")
    except (IPFSError, ValueError) as error:
        return rpc_error(str(error))


def _version(request, node):
    return JsonResponse({"Version": VERSION, "Commit": "", "Repo": "flowcast", "System": "python", "Golang": ""})


def _params(request) -> ImportParams:
    try:
        version = ascii_int(request.GET.get("cid-version", "0"))
    except ValueError:
        raise ValueError("cid-version must be 0 or 1") from None
    raw_leaves = request.GET.get("raw-leaves")
    chunker = request.GET.get("chunker", "size-262144")
    if chunker != "size-262144":
        raise ValueError(f"chunker {chunker!r} is not supported (only size-262144)")
    return ImportParams.kubo(version, None if raw_leaves is None else raw_leaves.lower() in ("1", "true"))


def _add(request, node: EmbeddedNode):
    params = _params(request)
    pin = _flag(request, "pin", True)
    only_hash = _flag(request, "only-hash", False)
    wrap = _flag(request, "wrap-with-directory", False)
    importer = Importer(params, sink=None if only_hash else node.blocks.put)
    tree: dict = {}
    results: list[tuple[str, AddedNode]] = []
    order: list[str] = []
    for upload in request.FILES.getlist("file"):
        name = unquote(upload.name or "")
        parts = [part for part in PurePosixPath(name).parts if part not in ("", ".", "/")]
        if not parts or any(part == ".." for part in parts):
            raise ValueError(f"invalid file name {name!r}")
        folder = tree
        for part in parts[:-1]:
            folder = folder.setdefault(part, {})
            if not isinstance(folder, dict):
                raise ValueError(f"{name!r} is below a file")
        if upload.content_type == "application/x-directory":
            folder.setdefault(parts[-1], {})
        else:
            upload.seek(0)
            folder[parts[-1]] = importer.add_stream(upload.file)
        order.append("/".join(parts))
    if not order:
        raise ValueError("file argument 'path' is required")

    def build(prefix: str, folder: dict) -> AddedNode:
        entries = []
        for name, value in folder.items():
            path = f"{prefix}/{name}" if prefix else name
            node_ = build(path, value) if isinstance(value, dict) else value
            results.append((path, node_))
            entries.append((name, node_))
        return importer.make_directory(entries)

    top = build("", tree)
    roots = [cid for cid in ([top.cid] if wrap else [added.cid for path, added in results if "/" not in path])]
    if wrap:
        results.append(("", top))
    if pin and not only_hash:
        with node._lock(exclusive=False):
            for cid in roots:
                node._write_pin(cid)
    # Kubo lists files before the folders that hold them, the top entries last
    results.sort(key=lambda item: (item[0] == "", -item[0].count("/"), item[0]))
    lines = [json.dumps({"Name": path, "Hash": added.cid_str, "Size": str(added.tsize)}) for path, added in results]
    return HttpResponse("\n".join(lines) + "\n", content_type="application/json", headers={"X-Chunked-Output": "1"})


def _int_arg(request, name):
    value = request.GET.get(name)
    if value in (None, ""):
        return None
    try:
        number = ascii_int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


def _cat(request, node: EmbeddedNode):
    root, path = _split_arg(request.GET.get("arg", ""))
    cid = node.resolve(root, path)
    chunks = node.cat(cid, offset=_int_arg(request, "offset") or 0, length=_int_arg(request, "length"))
    iterator = iter(chunks)
    first = next(iterator, b"")  # errors (missing, corrupt, a directory) before the 200

    def body():
        yield first
        yield from iterator

    return StreamingHttpResponse(body(), content_type="text/plain", headers={"X-Stream-Output": "1"})


def _ls(request, node: EmbeddedNode):
    root, path = _split_arg(request.GET.get("arg", ""))
    cid = node.resolve(root, path)
    links = [{"Name": entry.name, "Hash": entry.cid, "Size": entry.size, "Type": 1 if entry.type == "directory" else 2,
              "Target": ""} for entry in node.ls(cid)]
    return JsonResponse({"Objects": [{"Hash": cid_to_str(cid), "Links": links}]})


def _pin_add(request, node: EmbeddedNode):
    root, path = _split_arg(request.GET.get("arg", ""))
    cid = node.resolve(root, path)
    node.pin(cid)
    return JsonResponse({"Pins": [cid_to_str(cid)]})


def _pin_rm(request, node: EmbeddedNode):
    root, path = _split_arg(request.GET.get("arg", ""))
    cid = node.resolve(root, path)
    if not node.unpin(cid):
        return rpc_error("not pinned or pinned indirectly")
    return JsonResponse({"Pins": [cid_to_str(cid)]})


def _pin_ls(request, node: EmbeddedNode):
    arg = request.GET.get("arg")
    kind = request.GET.get("type", "all")
    if kind not in ("all", "recursive", "direct", "indirect"):
        return rpc_error(f"invalid type {kind!r}")
    if kind in ("direct", "indirect"):
        return JsonResponse({"Keys": {}})
    if arg:
        cid = cid_to_str(cid_parse(arg))
        if not node.is_pinned(cid_parse(cid)):
            return rpc_error(f"path '{arg}' is not pinned")
        return JsonResponse({"Keys": {cid: {"Type": "recursive"}}})
    return JsonResponse({"Keys": {cid: {"Type": "recursive"} for cid in node.pins()}})


def _repo_gc(request, node: EmbeddedNode):
    report = node.gc()
    return HttpResponse(json.dumps({"Removed": report.removed, "Freed": report.freed_bytes}) + "\n",
                        content_type="application/json")


def _dag_export(request, node: EmbeddedNode):
    root, path = _split_arg(request.GET.get("arg", ""))
    cid = node.resolve(root, path)
    return StreamingHttpResponse(node.export_car(cid), content_type="application/vnd.ipld.car")


COMMANDS = {
    "version": _version,
    "add": _add,
    "cat": _cat,
    "ls": _ls,
    "pin/add": _pin_add,
    "pin/rm": _pin_rm,
    "pin/ls": _pin_ls,
    "repo/gc": _repo_gc,
    "dag/export": _dag_export,
}
