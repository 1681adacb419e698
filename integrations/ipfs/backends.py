"""One interface over the places a CID can be pinned: the embedded node, a Kubo node, a pinning service.

Content is always imported into the embedded node first (that gives the CID and
lets our gateway serve it); a backend then makes the CID durable where it
lives. `pin` answers a `PinOutcome`: "pinned", or "queued"/"pinning" for a
remote service that works asynchronously (poll with `status`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from integrations.ipfs.cid import cid_parse
from integrations.ipfs.importer import ImportParams
from integrations.ipfs.kubo import KuboError, KuboRPCClient
from integrations.ipfs.kubo import is_transient as kubo_transient
from integrations.ipfs.node import EmbeddedNode, IPFSError
from integrations.ipfs.pinning import PinningServiceClient
from integrations.ipfs.pinning import is_transient as pinning_transient


class BackendError(Exception):
    """A pin operation failed; `transient` says whether trying again later may help."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Content:
    """What to pin: its CID (computed locally) and where its bytes are."""

    cid: str
    kind: str  # file | json | directory
    name: str
    params: ImportParams
    path: Path | None = None  # a file or a folder
    data: bytes | None = None  # JSON bytes


@dataclass(frozen=True)
class PinOutcome:
    status: str  # pinned | queued | pinning | failed
    request_id: str = ""
    detail: str = ""


class IPFSBackend(Protocol):
    name: str

    def pin(self, content: Content) -> PinOutcome: ...

    def status(self, *, cid: str, request_id: str) -> PinOutcome: ...

    def unpin(self, *, cid: str, request_id: str) -> None: ...

    def health(self) -> tuple[bool, str]: ...


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, node: EmbeddedNode):
        self.node = node

    def pin(self, content: Content) -> PinOutcome:
        try:
            self.node.pin(cid_parse(content.cid))
        except IPFSError as error:
            raise BackendError(str(error), transient=False) from error
        return PinOutcome(status="pinned")

    def status(self, *, cid: str, request_id: str) -> PinOutcome:
        return PinOutcome(status="pinned" if self.node.is_pinned(cid_parse(cid)) else "failed")

    def unpin(self, *, cid: str, request_id: str) -> None:
        self.node.unpin(cid_parse(cid))

    def health(self) -> tuple[bool, str]:
        return self.node.health()


class KuboBackend:
    """Sends the bytes to a Kubo node with the same import options and checks it computed the same CID."""

    name = "kubo"

    def __init__(self, client: KuboRPCClient):
        self.client = client

    def pin(self, content: Content) -> PinOutcome:
        try:
            if content.kind == "directory":
                cid = self.client.add_directory(content.path, params=content.params)
            elif content.data is not None:
                cid = self.client.add_bytes(content.data, name=content.name, params=content.params)
            else:
                cid = self.client.add_file(content.path, params=content.params)
        except (KuboError, OSError) as error:
            raise BackendError(f"Kubo add failed: {error}", transient=kubo_transient(error)) from error
        except Exception as error:
            raise BackendError(f"Kubo add failed: {error!r}", transient=kubo_transient(error)) from error
        if cid != content.cid:
            raise BackendError(f"Kubo computed {cid}, we computed {content.cid}: import parameters differ", transient=False)
        return PinOutcome(status="pinned")

    def status(self, *, cid: str, request_id: str) -> PinOutcome:
        try:
            return PinOutcome(status="pinned" if cid in self.client.pin_ls(cid) else "failed")
        except Exception as error:
            raise BackendError(f"Kubo pin/ls failed: {error}", transient=kubo_transient(error)) from error

    def unpin(self, *, cid: str, request_id: str) -> None:
        try:
            self.client.pin_rm(cid)
        except KuboError as error:
            if error.status == 500 and "not pinned" in str(error):
                return
            raise BackendError(f"Kubo pin/rm failed: {error}", transient=kubo_transient(error)) from error
        except Exception as error:
            raise BackendError(f"Kubo pin/rm failed: {error!r}", transient=kubo_transient(error)) from error

    def health(self) -> tuple[bool, str]:
        return True, f"Kubo RPC {self.client.version()} at {self.client.base_url}"


class PinningServiceBackend:
    """Asks a remote pinning service to pin the CID (it fetches the blocks over IPFS itself)."""

    name = "pinning"

    def __init__(self, client: PinningServiceClient, *, origins: list[str] | None = None):
        self.client = client
        self.origins = origins or []

    def _call(self, what: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:
            transient = pinning_transient(error)
            raise BackendError(f"pinning service {what} failed: {error}", transient=transient) from error

    def pin(self, content: Content) -> PinOutcome:
        status = self._call("pin", self.client.add, content.cid, name=content.name, origins=self.origins,
                            meta={"kind": content.kind})
        return PinOutcome(status=status.status, request_id=status.request_id, detail=str(status.info or ""))

    def status(self, *, cid: str, request_id: str) -> PinOutcome:
        status = self._call("status", self.client.get, request_id)
        return PinOutcome(status=status.status, request_id=status.request_id, detail=str(status.info or ""))

    def unpin(self, *, cid: str, request_id: str) -> None:
        if request_id:
            self._call("delete", self.client.delete, request_id)

    def health(self) -> tuple[bool, str]:
        count, _ = self._call("list", self.client.list, limit=1)
        return True, f"pinning service at {self.client.base_url} ({count} pinned)"
