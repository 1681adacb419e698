"""Client of the Kubo RPC API (`/api/v0/...`) over httpx.

Every call is a POST (Kubo answers GET with 405); answers are JSON or NDJSON
streams. Transient failures (connection errors, timeouts, 429, 502-504) are
retried with jittered backoff; Kubo's 500 answers are its "this did not work"
(not pinned, no such block) and are not retried.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

import httpx

from integrations.ipfs.cid import cid_normalize
from integrations.ipfs.importer import ImportParams
from integrations.retry import transient_retry

TRANSIENT_STATUS = {429, 502, 503, 504}


class KuboError(Exception):
    def __init__(self, message: str, *, status: int | None = None, transient: bool = False):
        super().__init__(message)
        self.status = status
        self.transient = transient


def is_transient(error: BaseException) -> bool:
    if isinstance(error, KuboError):
        return error.transient
    return isinstance(error, httpx.TransportError)


class KuboRPCClient:
    def __init__(self, base_url: str, *, timeout: float = 30.0, attempts: int = 4, initial_wait: float = 0.2,
                 max_wait: float = 5.0, headers: dict | None = None):
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.initial_wait = initial_wait
        self.max_wait = max_wait
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers or {})

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- plumbing --------------------------------------------------------------
    def _retrying(self):
        return transient_retry(is_transient, attempts=self.attempts, initial_wait=self.initial_wait, max_wait=self.max_wait)

    def _post(self, command: str, params: dict | None = None, **kwargs) -> httpx.Response:
        def call():
            response = self.http.post(f"/api/v0/{command}", params=params, **kwargs)
            if response.status_code >= 400:
                raise KuboError(f"{command}: {_error_message(response)}", status=response.status_code,
                                transient=response.status_code in TRANSIENT_STATUS)
            return response

        return self._retrying()(call)

    # -- commands ----------------------------------------------------------------
    def version(self) -> str:
        return self._post("version").json()["Version"]

    def _add_params(self, params: ImportParams, *, pin: bool, only_hash: bool, wrap: bool) -> dict:
        return {
            "cid-version": str(params.cid_version),
            "raw-leaves": str(params.raw_leaves).lower(),
            "chunker": f"size-{params.chunk_size}",
            "pin": str(pin).lower(),
            "only-hash": str(only_hash).lower(),
            "wrap-with-directory": str(wrap).lower(),
            "progress": "false",
        }

    def _add(self, parts_factory, params: ImportParams, *, pin: bool, only_hash: bool, wrap: bool) -> list[dict]:
        def call():
            with ExitStack() as stack:
                files = parts_factory(stack)
                response = self.http.post("/api/v0/add", params=self._add_params(params, pin=pin, only_hash=only_hash, wrap=wrap),
                                          files=files)
            if response.status_code >= 400:
                raise KuboError(f"add: {_error_message(response)}", status=response.status_code,
                                transient=response.status_code in TRANSIENT_STATUS)
            return [json.loads(line) for line in response.text.splitlines() if line.strip()]

        entries = self._retrying()(call)
        for entry in entries:
            entry["Hash"] = cid_normalize(entry["Hash"])
        return entries

    def add_bytes(self, data: bytes, *, name: str = "data", params: ImportParams | None = None, pin: bool = True,
                  only_hash: bool = False, wrap: bool = False) -> str:
        entries = self._add(lambda stack: [("file", (quote(name, safe=""), data, "application/octet-stream"))],
                            params or ImportParams(), pin=pin, only_hash=only_hash, wrap=wrap)
        return entries[-1]["Hash"]

    def add_file(self, path: str | os.PathLike, *, params: ImportParams | None = None, pin: bool = True,
                 only_hash: bool = False, wrap: bool = False) -> str:
        path = Path(path)
        entries = self._add(
            lambda stack: [("file", (quote(path.name, safe=""), stack.enter_context(path.open("rb")), "application/octet-stream"))],
            params or ImportParams(), pin=pin, only_hash=only_hash, wrap=wrap)
        return entries[-1]["Hash"]

    def add_directory(self, path: str | os.PathLike, *, params: ImportParams | None = None, pin: bool = True,
                      only_hash: bool = False) -> str:
        """Add a folder as Kubo's `ipfs add -r` does; returns the folder's CID (hidden entries skipped)."""
        root = Path(path)
        # The top folder's own name does not change its CID; a fixed one avoids js-ipfs failing
        # ("Unexpected input: object") on short or numeric folder names such as a video's id.
        top = "content"

        def parts(stack: ExitStack):
            out = [("file", (top, b"", "application/x-directory"))]
            for folder, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
                relative = Path(top) / Path(folder).relative_to(root)
                for name in dirnames:
                    out.append(("file", (quote(str(relative / name), safe=""), b"", "application/x-directory")))
                for name in sorted(filenames):
                    full = Path(folder) / name
                    if name.startswith(".") or full.is_symlink():
                        continue
                    out.append(("file", (quote(str(relative / name), safe=""), stack.enter_context(full.open("rb")),
                                         "application/octet-stream")))
            return out

        entries = self._add(parts, params or ImportParams(), pin=pin, only_hash=only_hash, wrap=False)
        for entry in entries:
            if entry.get("Name") == top:
                return entry["Hash"]
        return entries[-1]["Hash"]

    def cat(self, cid_path: str, *, offset: int | None = None, length: int | None = None) -> bytes:
        params = {"arg": cid_path}
        if offset is not None:
            params["offset"] = str(offset)
        if length is not None:
            params["length"] = str(length)
        return self._post("cat", params).content

    def cat_stream(self, cid_path: str) -> Iterator[bytes]:
        with self.http.stream("POST", "/api/v0/cat", params={"arg": cid_path}) as response:
            if response.status_code >= 400:
                response.read()
                raise KuboError(f"cat: {_error_message(response)}", status=response.status_code)
            yield from response.iter_bytes()

    def ls(self, cid_path: str) -> list[dict]:
        """Entries of a folder: [{"name", "cid", "size", "type": "file"|"directory"}]."""
        entries = []
        for line in self._post("ls", {"arg": cid_path}).text.splitlines():  # js-ipfs streams, Kubo answers once
            if not line.strip():
                continue
            for item in json.loads(line).get("Objects", []):
                for link in item.get("Links", []):
                    entries.append({"name": link["Name"], "cid": cid_normalize(link["Hash"]), "size": int(link.get("Size", 0)),
                                    "type": "directory" if link.get("Type") in (1, 5, "dir") else "file"})
        return entries

    def pin_add(self, cid: str, *, timeout: str | None = None) -> list[str]:
        params = {"arg": cid, "recursive": "true"}
        if timeout:
            params["timeout"] = timeout
        return [cid_normalize(pin) for pin in self._post("pin/add", params).json().get("Pins", [])]

    def pin_rm(self, cid: str) -> list[str]:
        return [cid_normalize(pin) for pin in self._post("pin/rm", {"arg": cid, "recursive": "true"}).json().get("Pins", [])]

    def pin_ls(self, cid: str | None = None, *, type_: str = "recursive") -> dict[str, str]:
        params = {"type": type_}
        if cid:
            params["arg"] = cid
        try:
            answer = self._post("pin/ls", params)
        except KuboError as error:
            if cid and error.status == 500 and "not pinned" in str(error):
                return {}
            raise
        keys = {}
        for line in answer.text.splitlines():  # Kubo answers one JSON object, js-ipfs may stream several
            if line.strip():
                for key, value in json.loads(line).get("Keys", {}).items():
                    keys[cid_normalize(key)] = value.get("Type", "")
        return keys

    def repo_gc(self) -> int:
        return len([line for line in self._post("repo/gc").text.splitlines() if line.strip()])

    def dag_export(self, cid: str) -> bytes:
        return self._post("dag/export", {"arg": cid}).content


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and "Message" in body:
            return f"{response.status_code} {body['Message']}"
    except ValueError:
        pass
    return f"{response.status_code} {response.text[:300].strip()}"
