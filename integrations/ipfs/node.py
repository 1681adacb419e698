"""The embedded IPFS node: an importer, a blockstore and pins in one folder; no daemon.

Every block read is re-hashed against its CID before it is used, so a corrupt
block raises `CorruptBlock` instead of leaking bytes. Adds take a shared lock
on the repository and garbage collection an exclusive one, so a collection
never deletes the blocks of an add that has not pinned yet.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from integrations.ipfs.blockstore import Blockstore
from integrations.ipfs.car import car_stream
from integrations.ipfs.cid import (
    DAG_PB,
    RAW,
    b32encode,
    block_matches,
    cid_codec,
    cid_digest,
    cid_multihash,
    cid_parse,
    cid_to_str,
)
from integrations.ipfs.dagpb import DIRECTORY, FILE, HAMT_SHARD, RAW_TYPE, PBNode, decode_node, decode_unixfs
from integrations.ipfs.hamt import slot_of
from integrations.ipfs.importer import AddedNode, Importer, ImportParams


class IPFSError(Exception):
    pass


class BlockMissing(IPFSError, LookupError):
    def __init__(self, cid: bytes):
        super().__init__(f"block {cid_to_str(cid)} is not in the blockstore")
        self.cid = cid


class CorruptBlock(IPFSError):
    def __init__(self, cid: bytes):
        super().__init__(f"block {cid_to_str(cid)} does not hash to its CID (corrupt on disk)")
        self.cid = cid


class PathNotFound(IPFSError, LookupError):
    pass


class NotAFile(IPFSError):
    pass


@dataclass(frozen=True)
class Entry:
    name: str
    cid: str
    size: int  # file bytes for files, cumulative DAG size (Tsize) for directories
    type: str  # "file" | "directory"


@dataclass(frozen=True)
class Stat:
    cid: str
    type: str  # "file" | "directory"
    size: int  # file bytes (0 for directories)


@dataclass
class VerifyReport:
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)  # multihash keys


@dataclass(frozen=True)
class GCReport:
    removed: int
    freed_bytes: int
    kept: int


class EmbeddedNode:
    def __init__(self, blockstore_dir: str | os.PathLike, *, pins_dir: str | os.PathLike | None = None):
        self.blocks = Blockstore(blockstore_dir)
        self.repo_dir = Path(blockstore_dir).parent
        self.pins_dir = Path(pins_dir) if pins_dir else self.repo_dir / "pins"

    # -- locking -------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, exclusive: bool):
        self.repo_dir.mkdir(parents=True, exist_ok=True)
        with open(self.repo_dir / "repo.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- adding --------------------------------------------------------------
    def _importer(self, params: ImportParams | None, progress: Callable[[int], None] | None) -> Importer:
        return Importer(params or ImportParams(), sink=self.blocks.put, progress=progress)

    def _added(self, node: AddedNode, pin: bool) -> AddedNode:
        if pin:
            self._write_pin(node.cid)
        return node

    def add_stream(self, stream: BinaryIO, *, params=None, pin=True, progress=None) -> AddedNode:
        with self._lock(exclusive=False):
            return self._added(self._importer(params, progress).add_stream(stream), pin)

    def add_bytes(self, data: bytes, *, params=None, pin=True) -> AddedNode:
        with self._lock(exclusive=False):
            return self._added(self._importer(params, None).add_bytes(data), pin)

    def add_file(self, path, *, params=None, pin=True, progress=None, wrap: bool = False) -> AddedNode:
        with self._lock(exclusive=False):
            importer = self._importer(params, progress)
            node = importer.add_file(path)
            if wrap:
                node = importer.wrap(Path(path).name, node)
            return self._added(node, pin)

    def add_json(self, value, *, params=None, pin=True) -> AddedNode:
        return self.add_bytes(canonical_json(value), params=params, pin=pin)

    def add_directory(self, path, *, params=None, pin=True, progress=None) -> AddedNode:
        with self._lock(exclusive=False):
            return self._added(self._importer(params, progress).add_directory(path), pin)

    # -- blocks --------------------------------------------------------------
    def has_block(self, cid: bytes) -> bool:
        return self.blocks.has(cid)

    def get_block(self, cid: bytes) -> bytes:
        data = self.blocks.get(cid)
        if data is None:
            raise BlockMissing(cid)
        if not block_matches(cid, data):
            raise CorruptBlock(cid)
        return data

    def _node(self, cid: bytes) -> PBNode:
        return decode_node(self.get_block(cid))

    # -- reading -------------------------------------------------------------
    def stat(self, cid: bytes) -> Stat:
        if cid_codec(cid) == RAW:
            return Stat(cid=cid_to_str(cid), type="file", size=len(self.get_block(cid)))
        node = self._node(cid)
        unixfs = decode_unixfs(node.data or b"")
        if unixfs.type in (DIRECTORY, HAMT_SHARD):
            return Stat(cid=cid_to_str(cid), type="directory", size=0)
        if unixfs.type in (FILE, RAW_TYPE):
            size = unixfs.filesize if unixfs.filesize is not None else len(unixfs.data or b"")
            return Stat(cid=cid_to_str(cid), type="file", size=size)
        raise IPFSError(f"unsupported UnixFS node type {unixfs.type}")

    def resolve(self, cid: bytes, path: list[str]) -> bytes:
        """CID at `cid/path…`; raises PathNotFound when a segment does not exist."""
        for segment in path:
            if not segment:
                continue
            if cid_codec(cid) != DAG_PB:
                raise PathNotFound(f"{cid_to_str(cid)} is a file, it has no {segment!r}")
            node = self._node(cid)
            unixfs = decode_unixfs(node.data or b"")
            if unixfs.type == DIRECTORY:
                found = next((link.cid for link in node.links if link.name == segment), None)
            elif unixfs.type == HAMT_SHARD:
                found = self._hamt_find(node, segment)
            else:
                raise PathNotFound(f"{cid_to_str(cid)} is a file, it has no {segment!r}")
            if found is None:
                raise PathNotFound(f"no link named {segment!r} under {cid_to_str(cid)}")
            cid = found
        return cid

    def _hamt_find(self, node: PBNode, name: str) -> bytes | None:
        depth = 0
        while True:
            prefix = f"{slot_of(name, depth):02X}"
            link = next((link for link in node.links if link.name.startswith(prefix)), None)
            if link is None:
                return None
            if len(link.name) == 2:
                node = self._node(link.cid)
                depth += 1
                continue
            return link.cid if link.name[2:] == name else None

    def ls(self, cid: bytes) -> list[Entry]:
        node = self._node(cid) if cid_codec(cid) == DAG_PB else None
        unixfs = decode_unixfs(node.data or b"") if node else None
        if unixfs is None or unixfs.type not in (DIRECTORY, HAMT_SHARD):
            raise NotAFile(f"{cid_to_str(cid)} is not a directory")
        links = node.links if unixfs.type == DIRECTORY else list(self._hamt_links(node))
        entries = []
        for link in sorted(links, key=lambda link: link.name.encode("utf-8")):
            child = self.stat(link.cid)
            entries.append(Entry(name=link.name, cid=cid_to_str(link.cid),
                                 size=child.size if child.type == "file" else link.tsize, type=child.type))
        return entries

    def _hamt_links(self, node: PBNode):
        from integrations.ipfs.dagpb import Link

        for link in node.links:
            if len(link.name) == 2:
                yield from self._hamt_links(self._node(link.cid))
            else:
                yield Link(cid=link.cid, name=link.name[2:], tsize=link.tsize)

    def cat(self, cid: bytes, *, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The file's bytes from `offset`, `length` of them (all by default), block by verified block."""
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("offset and length must not be negative")
        end = None if length is None else offset + length
        yield from self._cat(cid, offset, end)

    def _cat(self, cid: bytes, start: int, end: int | None) -> Iterator[bytes]:
        if end is not None and start >= end:
            return
        if cid_codec(cid) == RAW:
            data = self.get_block(cid)
            piece = data[start:end]
            if piece:
                yield piece
            return
        node = self._node(cid)
        unixfs = decode_unixfs(node.data or b"")
        if unixfs.type not in (FILE, RAW_TYPE):
            raise NotAFile(f"{cid_to_str(cid)} is a directory, not a file")
        position = 0
        inline = unixfs.data or b""
        if inline:
            piece = inline[max(start, 0) : None if end is None else max(end, 0)]
            if piece:
                yield piece
            position = len(inline)
        for link, size in zip(node.links, unixfs.blocksizes):
            child_start, child_end = position, position + size
            position = child_end
            if child_end <= start:
                continue
            if end is not None and child_start >= end:
                break
            yield from self._cat(link.cid, max(start - child_start, 0), None if end is None else min(end, child_end) - child_start)

    def walk(self, cid: bytes, *, scope: str = "all") -> Iterator[tuple[bytes, bytes]]:
        """(cid, block) of the DAG depth-first, each verified. scope: all | entity | block."""
        block = self.get_block(cid)
        yield cid, block
        if scope == "block" or cid_codec(cid) != DAG_PB:
            return
        node = decode_node(block)
        if scope == "entity":
            unixfs = decode_unixfs(node.data or b"")
            if unixfs.type == DIRECTORY:
                return
            if unixfs.type == HAMT_SHARD:  # the directory entity is its shard nodes, not the children
                for link in node.links:
                    if len(link.name) == 2:
                        yield from self.walk(link.cid, scope="entity")
                return
        for link in node.links:
            yield from self.walk(link.cid, scope=scope)

    def walk_file_range(self, cid: bytes, start: int, end: int | None) -> Iterator[tuple[bytes, bytes]]:
        """The blocks a reader needs for bytes [start, end) of a file: the path from the root, then the leaves."""
        block = self.get_block(cid)
        yield cid, block
        if cid_codec(cid) != DAG_PB:
            return
        node = decode_node(block)
        unixfs = decode_unixfs(node.data or b"")
        if unixfs.type not in (FILE, RAW_TYPE):
            return
        position = len(unixfs.data or b"")
        for link, size in zip(node.links, unixfs.blocksizes):
            child_start, position = position, position + size
            if position <= start or (end is not None and child_start >= end):
                continue
            yield from self.walk_file_range(link.cid, max(start - child_start, 0),
                                            None if end is None else min(end, position) - child_start)

    def export_car(self, cid: bytes, *, scope: str = "all", byte_range: tuple[int, int | None] | None = None
                   ) -> Iterator[bytes]:
        """CAR v1 of the DAG (`scope` all | entity | block); `byte_range` limits a file entity to those bytes."""
        if byte_range is not None and scope == "entity" and self.stat(cid).type == "file":
            return car_stream([cid], self.walk_file_range(cid, byte_range[0], byte_range[1]))
        return car_stream([cid], self.walk(cid, scope=scope))

    def missing_blocks(self, cid: bytes) -> list[bytes]:
        missing: list[bytes] = []
        stack = [cid]
        while stack:
            current = stack.pop()
            data = self.blocks.get(current)
            if data is None:
                missing.append(current)
                continue
            if cid_codec(current) == DAG_PB:
                stack.extend(link.cid for link in decode_node(data).links)
        return missing

    # -- pins ----------------------------------------------------------------
    def _pin_path(self, cid: bytes) -> Path:
        return self.pins_dir / cid_to_str(cid)

    def _write_pin(self, cid: bytes) -> None:
        self.pins_dir.mkdir(parents=True, exist_ok=True)
        self._pin_path(cid).write_text("recursive\n")

    def pin(self, cid: bytes) -> None:
        """Recursively pin a DAG whose blocks are all here; raises BlockMissing otherwise."""
        with self._lock(exclusive=False):
            missing = self.missing_blocks(cid)
            if missing:
                raise BlockMissing(missing[0])
            self._write_pin(cid)

    def unpin(self, cid: bytes) -> bool:
        path = self._pin_path(cid)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def is_pinned(self, cid: bytes) -> bool:
        return self._pin_path(cid).exists()

    def pins(self) -> list[str]:
        if not self.pins_dir.is_dir():
            return []
        return sorted(path.name for path in self.pins_dir.iterdir() if not path.name.startswith("."))

    # -- maintenance -----------------------------------------------------------
    def gc(self) -> GCReport:
        """Delete every block no recursive pin reaches."""
        with self._lock(exclusive=True):
            keep: set[str] = set()
            for text in self.pins():
                stack = [cid_parse(text)]
                while stack:
                    current = stack.pop()
                    key = b32encode(cid_multihash(current)).upper()
                    if key in keep:
                        continue
                    keep.add(key)
                    data = self.blocks.get(current)
                    if data is not None and cid_codec(current) == DAG_PB:
                        stack.extend(link.cid for link in decode_node(data).links)
            removed = freed = 0
            for key in list(self.blocks.keys()):
                if key in keep:
                    continue
                path = self.blocks.directory / key[-3:-1] / f"{key}.data"
                freed += path.stat().st_size
                self.blocks.delete(key)
                removed += 1
            return GCReport(removed=removed, freed_bytes=freed, kept=len(keep))

    def verify(self, progress: Callable[[int], None] | None = None) -> VerifyReport:
        """Re-hash every stored block; list the keys of those that do not match."""
        report = VerifyReport()
        for key in self.blocks.keys():
            multihash = Blockstore.multihash_of_key(key)
            data = self.blocks.read_key(key)
            report.checked += 1
            if multihash[:2] != b"\x12\x20" or hashlib.sha256(data).digest() != multihash[2:]:
                report.corrupt.append(key)
            if progress:
                progress(1)
        return report

    def health(self) -> tuple[bool, str]:
        self.blocks.directory.mkdir(parents=True, exist_ok=True)
        probe = self.blocks.directory / ".health"
        probe.write_bytes(b"ok")
        probe.unlink()
        return True, f"embedded node, blockstore {self.blocks.directory}, {len(self.pins())} pin(s)"


def canonical_json(value) -> bytes:
    """One byte form per JSON value (sorted keys, no spaces), so equal metadata gives one CID."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
