"""UnixFS importer that gives the CIDs Kubo's `ipfs add` gives.

Kubo's defaults (v0.22): fixed 262,144-byte chunks, balanced layout with at
most 174 links per node, CIDv0 with dag-pb leaves; `--cid-version=1` means
CIDv1, raw leaves, base32. Directories are UnixFS directory nodes with links
sorted by name, turned into HAMT shards once the estimated node size (sum of
name length + CID length of every link) reaches 256 KiB.

Files are streamed into a small ring of reused buffers and their leaves hashed
in place by a few threads (hashlib releases the GIL on large buffers) while the
next buffer is read; leaves are collected in order, so the CIDs are those of a
serial import and memory stays flat whatever the size. Blocks go to a sink
(`put(cid, *parts)`, the parts concatenated make the block; a leaf's chunk is
a view of a reused buffer, valid during the call only); with no sink the
importer only hashes (`ipfs add --only-hash`). `hash_threads` (default
min(4, CPUs)) sets the pool; 1 hashes inline.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing, contextmanager
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
                 progress: Callable[[int], None] | None = None, *, hash_threads: int | None = None):
        self.params = params or ImportParams()
        self.sink = sink
        self.progress = progress
        self.hash_threads = default_hash_threads() if hash_threads is None else max(1, hash_threads)
        self._local = threading.local()  # the pool of the import running on this thread (an Importer may be shared)

    # -- blocks ------------------------------------------------------------
    def _put_node(self, block: bytes) -> tuple[bytes, int]:
        cid = make_cid(hashlib.sha256(block).digest(), version=self.params.cid_version, codec=DAG_PB)
        if self.sink is not None:
            self.sink(cid, block)
        return cid, len(block)

    @property
    def _pool(self) -> ThreadPoolExecutor | None:
        return getattr(self._local, "pool", None)

    @contextmanager
    def _hashing(self):
        """One thread pool for the leaves of every file imported inside (a folder reuses it); none when serial."""
        if self._pool is not None or self.hash_threads < 2:
            yield
            return
        with ThreadPoolExecutor(self.hash_threads, thread_name_prefix="cid-hash") as pool:
            self._local.pool = pool
            try:
                yield
            finally:
                self._local.pool = None

    # -- files -------------------------------------------------------------
    def add_stream(self, stream: BinaryIO) -> AddedNode:
        """Import a file-like object read to its end (balanced layout)."""
        with self._hashing(), closing(_LeafPipeline(self, stream)) as leaves:
            first = leaves.next()
            if first is None:
                cid, tsize = self._empty_leaf()
                return AddedNode(cid=cid, tsize=tsize, size=0, kind="file")
            root = first
            depth = 1
            while leaves.more():
                root = self._fill(leaves, depth, [root])
                depth += 1
        cid, tsize, size = root
        return AddedNode(cid=cid, tsize=tsize, size=size, kind="file")

    def _empty_leaf(self) -> tuple[bytes, int]:
        if self.params.raw_leaves:
            cid = make_cid(hashlib.sha256(b"").digest(), version=1, codec=RAW)
            if self.sink is not None:
                self.sink(cid, b"")
            return cid, 0
        prefix, suffix = leaf_envelope(0)
        block = prefix + suffix
        cid = make_cid(hashlib.sha256(block).digest(), version=self.params.cid_version, codec=DAG_PB)
        if self.sink is not None:
            self.sink(cid, prefix, b"", suffix)
        return cid, len(block)

    def _fill(self, leaves: _LeafPipeline, depth: int, links: list) -> tuple[bytes, int, int]:
        """Kubo's balanced `fillNodeRec`: fill a node of `depth` while data remains."""
        while len(links) < self.params.max_links and leaves.more():
            links.append(leaves.next() if depth == 1 else self._fill(leaves, depth - 1, []))
        data = encode_unixfs(FILE, filesize=sum(link[2] for link in links), blocksizes=[link[2] for link in links])
        block = encode_node([Link(cid=cid, name="", tsize=tsize) for cid, tsize, _ in links], data)
        cid, length = self._put_node(block)
        return cid, length + sum(link[1] for link in links), sum(link[2] for link in links)

    def add_bytes(self, data: bytes) -> AddedNode:
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
        with self._hashing():
            return self._add_directory(path, include_hidden)

    def _add_directory(self, path: Path, include_hidden: bool) -> AddedNode:
        entries: list[tuple[str, AddedNode]] = []
        with os.scandir(path) as scan:
            items = sorted(scan, key=lambda entry: entry.name)
        for entry in items:
            if not include_hidden and entry.name.startswith("."):
                continue
            if entry.is_symlink():
                continue
            if entry.is_dir():
                entries.append((entry.name, self._add_directory(Path(entry.path), include_hidden)))
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


def default_hash_threads() -> int:
    """Threads hashing leaves: hashlib releases the GIL on large buffers, so a second core nearly doubles it."""
    return min(4, os.cpu_count() or 1)


# A slab holds this many chunks: one read and one pool task per slab keeps the per-task overhead
# (submit, wake-up, GIL hand-over) small beside the hashing of 1 MiB.
CHUNKS_PER_SLAB = 4

Envelope = Callable[[int], tuple[bytes, bytes]]


def _hash_slab(slab: memoryview, chunk_size: int, envelope: Envelope | None) -> list[bytes]:
    """sha256 digests of the leaves in `slab`, hashed in place (a dag-pb leaf as prefix, chunk, suffix)."""
    digests = []
    for offset in range(0, len(slab), chunk_size):
        chunk = slab[offset : offset + chunk_size]
        if envelope is None:
            digests.append(hashlib.sha256(chunk).digest())
        else:
            prefix, suffix = envelope(len(chunk))
            digest = hashlib.sha256(prefix)
            digest.update(chunk)
            digest.update(suffix)
            digests.append(digest.digest())
    return digests


def _read_full(read: Callable[[memoryview, int], int], slab: bytearray) -> int:
    """Fill `slab` from `read(view, filled)` until it is full or the source ends; the bytes filled."""
    view = memoryview(slab)
    filled = 0
    while filled < len(slab):
        count = read(view[filled:], filled)
        if not count:
            break
        filled += count
    return filled


def _pread_and_hash(fd: int, offset: int, slab: bytearray, chunk_size: int,
                    envelope: Envelope | None) -> tuple[int, list[bytes]]:
    """A worker's whole task on a regular file: read its slab at `offset` (no shared position), then hash it."""
    filled = _read_full(lambda view, done: os.preadv(fd, [view], offset + done), slab)
    return filled, _hash_slab(memoryview(slab)[:filled], chunk_size, envelope)


def _hash_filled(filled: int, slab: bytearray, chunk_size: int, envelope: Envelope | None) -> tuple[int, list[bytes]]:
    return filled, _hash_slab(memoryview(slab)[:filled], chunk_size, envelope)


def _positional_file(stream: BinaryIO) -> int | None:
    """The descriptor of an unbuffered regular file (safe to read at offsets), else None."""
    if not isinstance(stream, io.FileIO) or not hasattr(os, "preadv"):
        return None
    try:
        return stream.fileno() if stat.S_ISREG(os.fstat(stream.fileno()).st_mode) else None
    except OSError:
        return None


class _LeafPipeline:
    """The leaves of a stream in order, as (cid, tsize, size) link tuples.

    Chunks are read into a small ring of reused slabs (never copied) and hashed by the importer's
    pool; the oldest slab is collected in order (its blocks handed to the sink, which must not keep
    the views) before its memory is read into again, so at most `max_slabs` slabs exist whatever
    the size. An unbuffered regular file is read by the workers themselves, each at its slab's
    offset (the copy from the page cache runs in parallel too); any other stream is read here
    while the workers hash. The first slab is hashed inline: a file within it never wakes a
    thread, and without a pool everything is inline.
    """

    def __init__(self, importer: Importer, stream: BinaryIO):
        params = importer.params
        self.importer = importer
        self.stream = stream
        self.chunk_size = params.chunk_size
        self.slab_size = params.chunk_size * CHUNKS_PER_SLAB
        self.pool = importer._pool
        # Every thread hashes one slab while one more is read (or waits to be collected).
        self.max_slabs = importer.hash_threads + 1 if self.pool is not None else 1
        self.free: list[bytearray] = []
        self.pending: deque = deque()  # (future or (filled, digests), slab), oldest first
        self.ready: deque = deque()  # collected leaves not yet taken
        self.eof = False
        self.started = 0  # bytes of the stream handed to slabs so far (requested, on the positional path)
        self.collected = 0  # bytes of the stream turned into leaves so far
        self.raw = params.raw_leaves
        self.version = params.cid_version
        full = leaf_envelope(params.chunk_size)
        self.envelope = None if self.raw else (lambda length: full if length == params.chunk_size else leaf_envelope(length))
        self.fd = _positional_file(stream)
        self.origin = stream.tell() if self.fd is not None else 0
        self.size_hint = os.fstat(self.fd).st_size if self.fd is not None else 0

    # -- what the tree builder uses ---------------------------------------
    def more(self) -> bool:
        self._advance()
        return bool(self.ready)

    def next(self) -> tuple[bytes, int, int] | None:
        self._advance()
        return self.ready.popleft() if self.ready else None

    def close(self) -> None:
        self._drop_pending()
        if self.fd is not None:  # leave the file where a sequential read would have
            self.stream.seek(self.origin + self.collected)

    # -- the pipeline ------------------------------------------------------
    def _advance(self) -> None:
        while not self.ready:
            while not self.eof and len(self.pending) < self.max_slabs:
                self._start_slab()
            if not self.pending:
                return
            self._collect_oldest()

    def _take_slab(self) -> bytearray:
        return self.free.pop() if self.free else bytearray(self.slab_size)

    def _start_slab(self) -> None:
        slab = self._take_slab()
        # Inline: the first slab, and a slab with nothing to hash (the file's size said so or its read did).
        inline = self.pool is None or self.started == 0
        if self.fd is not None:
            inline = inline or self.origin + self.started >= self.size_hint
            task = (_pread_and_hash, self.fd, self.origin + self.started, slab, self.chunk_size, self.envelope)
            self.started += len(slab)
        else:
            filled = _read_full(self._read, slab)
            inline = inline or not filled
            self.started += filled
            task = (_hash_filled, filled, slab, self.chunk_size, self.envelope)
        if inline:
            work = task[0](*task[1:])
            self.eof = work[0] < len(slab)
        else:
            work = self.pool.submit(*task)
            self.eof = self.fd is None and task[1] < len(slab)
        self.pending.append((work, slab))

    def _read(self, view: memoryview, _filled: int) -> int:
        readinto = getattr(self.stream, "readinto", None)
        if readinto is not None:
            return readinto(view) or 0
        data = self.stream.read(len(view)) or b""
        view[: len(data)] = data
        return len(data)

    def _drop_pending(self) -> None:
        """Cancel what has not started and wait for what has (it may still be reading our file)."""
        futures = [work for work, _ in self.pending if isinstance(work, Future)]
        for future in futures:
            future.cancel()
        wait(futures)
        self.pending.clear()

    def _collect_oldest(self) -> None:
        work, slab = self.pending.popleft()
        filled, digests = work.result() if isinstance(work, Future) else work
        if filled < len(slab):
            # The stream ended in this slab; on the positional path the slabs after it read nothing,
            # or what was appended since, which a sequential read would not have seen either.
            self.eof = True
            self._drop_pending()
        self.collected += filled
        sink, progress = self.importer.sink, self.importer.progress
        view = memoryview(slab)
        for index, digest in enumerate(digests):
            chunk = view[index * self.chunk_size : min((index + 1) * self.chunk_size, filled)]
            if self.raw:
                cid = make_cid(digest, version=1, codec=RAW)
                if sink is not None:
                    sink(cid, chunk)
                tsize = len(chunk)
            else:
                prefix, suffix = self.envelope(len(chunk))
                cid = make_cid(digest, version=self.version, codec=DAG_PB)
                if sink is not None:
                    sink(cid, prefix, chunk, suffix)
                tsize = len(prefix) + len(chunk) + len(suffix)
            if progress:
                progress(len(chunk))
            self.ready.append((cid, tsize, len(chunk)))
        self.free.append(slab)
