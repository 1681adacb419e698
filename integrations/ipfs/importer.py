"""UnixFS importer that gives the CIDs Kubo's `ipfs add` gives.

Kubo's defaults (v0.22): fixed 262,144-byte chunks, balanced layout with at
most 174 links per node, CIDv0 with dag-pb leaves; `--cid-version=1` means
CIDv1, raw leaves, base32. Directories are UnixFS directory nodes with links
sorted by name, turned into HAMT shards once the estimated node size (sum of
name length + CID length of every link) reaches 256 KiB.

Files are streamed in chunk-sized reads into one reused buffer and hashed
without copying, so memory stays flat whatever the size. Blocks go to a sink
(`put(cid, *parts)`, the parts concatenated make the block); with no sink the
importer only hashes (`ipfs add --only-hash`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from integrations.ipfs.cid import DAG_PB, RAW, cid_to_str, make_cid
from integrations.ipfs.dagpb import DIRECTORY, FILE, Link, encode_node, encode_unixfs, leaf_envelope
from integrations.ipfs.hamt import build_hamt

BlockSink = Callable[..., None]


@dataclass(frozen=True)
class ImportParams:
    """The parameters a CID depends on; stored beside every CID (Kubo's defaults are being revised)."""

    cid_version: int = 0
    raw_leaves: bool = False
    chunk_size: int = 262_144
    max_links: int = 174
    layout: str = "balanced"
    hamt_threshold: int = 262_144
    hamt_fanout: int = 256
    hash: str = "sha2-256"
    profile: str = "kubo-0.22-defaults"

    @classmethod
    def kubo(cls, cid_version: int = 0, raw_leaves: bool | None = None) -> ImportParams:
        """Kubo's `ipfs add` defaults; `--cid-version=1` switches raw leaves on as Kubo does."""
        if cid_version not in (0, 1):
            raise ValueError("cid_version must be 0 or 1")
        if raw_leaves is None:
            raw_leaves = cid_version == 1
        if cid_version == 0 and raw_leaves:
            raise ValueError("raw leaves need CIDv1")
        return cls(cid_version=cid_version, raw_leaves=raw_leaves)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AddedNode:
    cid: bytes
    tsize: int  # the node's block plus every block below it (Kubo's cumulative size)
    size: int  # file bytes (for a directory, the file bytes of everything in it)
    kind: str  # "file" or "directory"

    @property
    def cid_str(self) -> str:
        return cid_to_str(self.cid)


class Importer:
    def __init__(self, params: ImportParams | None = None, sink: BlockSink | None = None,
                 progress: Callable[[int], None] | None = None):
        self.params = params or ImportParams()
        self.sink = sink
        self.progress = progress

    # -- blocks ------------------------------------------------------------
    def _put_node(self, block: bytes) -> tuple[bytes, int]:
        cid = make_cid(hashlib.sha256(block).digest(), version=self.params.cid_version, codec=DAG_PB)
        if self.sink is not None:
            self.sink(cid, block)
        return cid, len(block)

    # -- files -------------------------------------------------------------
    def add_stream(self, stream: BinaryIO) -> AddedNode:
        """Import a file-like object read to its end (balanced layout)."""
        # Reading ahead one chunk tells "exactly N chunks" from "more to come",
        # as Kubo's splitter does; a second buffer keeps it copy-free.
        reader = _ChunkReader(stream, self.params.chunk_size)
        first = reader.next()
        if first is None:
            cid, tsize = self._leaf(memoryview(b""))
            return AddedNode(cid=cid, tsize=tsize, size=0, kind="file")
        root = self._leaf_node(first)
        depth = 1
        while not reader.done:
            links = [root]
            root = self._fill(reader, depth, links)
            depth += 1
        cid, tsize, size = root
        return AddedNode(cid=cid, tsize=tsize, size=size, kind="file")

    def _leaf_node(self, chunk: memoryview) -> tuple[bytes, int, int]:
        if self.progress:
            self.progress(len(chunk))
        cid, tsize = self._leaf(chunk)
        return cid, tsize, len(chunk)

    def _leaf(self, chunk: memoryview) -> tuple[bytes, int]:
        if self.params.raw_leaves:
            cid = make_cid(hashlib.sha256(chunk).digest(), version=1, codec=RAW)
            if self.sink is not None:
                self.sink(cid, chunk)
            return cid, len(chunk)
        prefix, suffix = leaf_envelope(len(chunk))
        digest = hashlib.sha256(prefix)
        digest.update(chunk)
        digest.update(suffix)
        cid = make_cid(digest.digest(), version=self.params.cid_version, codec=DAG_PB)
        if self.sink is not None:
            self.sink(cid, prefix, chunk, suffix)
        return cid, len(prefix) + len(chunk) + len(suffix)

    def _fill(self, reader: _ChunkReader, depth: int, links: list) -> tuple[bytes, int, int]:
        """Kubo's balanced `fillNodeRec`: fill a node of `depth` while data remains."""
        while len(links) < self.params.max_links and not reader.done:
            if depth == 1:
                chunk = reader.next()
                if chunk is None:
                    break
                links.append(self._leaf_node(chunk))
            else:
                links.append(self._fill(reader, depth - 1, []))
        data = encode_unixfs(FILE, filesize=sum(link[2] for link in links), blocksizes=[link[2] for link in links])
        block = encode_node([Link(cid=cid, name="", tsize=tsize) for cid, tsize, _ in links], data)
        cid, length = self._put_node(block)
        return cid, length + sum(link[1] for link in links), sum(link[2] for link in links)

    def add_bytes(self, data: bytes) -> AddedNode:
        import io

        return self.add_stream(io.BytesIO(data))

    def add_file(self, path: str | os.PathLike) -> AddedNode:
        with open(path, "rb", buffering=0) as stream:
            return self.add_stream(stream)

    # -- directories -------------------------------------------------------
    def add_directory(self, path: str | os.PathLike, *, include_hidden: bool = False) -> AddedNode:
        """Import a folder recursively (symlinks are not followed; hidden entries skipped as `ipfs add -r` does)."""
        path = Path(path)
        if not path.is_dir():
            raise NotADirectoryError(str(path))
        entries: list[tuple[str, AddedNode]] = []
        with os.scandir(path) as scan:
            items = sorted(scan, key=lambda entry: entry.name)
        for entry in items:
            if not include_hidden and entry.name.startswith("."):
                continue
            if entry.is_symlink():
                continue
            if entry.is_dir():
                entries.append((entry.name, self.add_directory(entry.path, include_hidden=include_hidden)))
            elif entry.is_file():
                entries.append((entry.name, self.add_file(entry.path)))
        return self.make_directory(entries)

    def make_directory(self, entries: Iterable[tuple[str, AddedNode]]) -> AddedNode:
        """A directory node over already-imported children (basic, or a HAMT past the threshold)."""
        entries = list(entries)
        names = [name for name, _ in entries]
        if len(set(names)) != len(names):
            raise ValueError("duplicate names in a directory")
        for name in names:
            if not name or "/" in name or name in (".", ".."):
                raise ValueError(f"invalid directory entry name {name!r}")
        links = sorted(
            (Link(cid=node.cid, name=name, tsize=node.tsize) for name, node in entries),
            key=lambda link: link.name.encode("utf-8"),
        )
        size = sum(node.size for _, node in entries)
        estimated = sum(len(link.name.encode("utf-8")) + len(link.cid) for link in links)
        if self.params.hamt_threshold and estimated >= self.params.hamt_threshold:
            cid, tsize = build_hamt(links, self._put_node)
            return AddedNode(cid=cid, tsize=tsize, size=size, kind="directory")
        block = encode_node(links, encode_unixfs(DIRECTORY))
        cid, length = self._put_node(block)
        return AddedNode(cid=cid, tsize=length + sum(link.tsize for link in links), size=size, kind="directory")

    def wrap(self, name: str, node: AddedNode) -> AddedNode:
        """`--wrap-with-directory`: a directory holding `node` under `name`."""
        return self.make_directory([(name, node)])


class _ChunkReader:
    """Fixed-size chunks from a stream, one chunk of look-ahead, two reused buffers."""

    def __init__(self, stream: BinaryIO, size: int):
        self.stream = stream
        self.buffers = [bytearray(size), bytearray(size)]
        self.turn = 0
        self.ahead: memoryview | None = self._fill(self.buffers[0])
        self.turn = 1

    def _fill(self, buffer: bytearray) -> memoryview | None:
        view = memoryview(buffer)
        filled = 0
        readinto = getattr(self.stream, "readinto", None)
        while filled < len(buffer):
            if readinto is not None:
                read = readinto(view[filled:])
            else:
                data = self.stream.read(len(buffer) - filled)
                read = len(data) if data else 0
                view[filled : filled + read] = data or b""
            if not read:
                break
            filled += read
        return view[:filled] if filled else None

    @property
    def done(self) -> bool:
        return self.ahead is None

    def next(self) -> memoryview | None:
        current = self.ahead
        if current is None:
            return None
        self.ahead = self._fill(self.buffers[self.turn])
        self.turn ^= 1
        return current
