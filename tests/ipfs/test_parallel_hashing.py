"""Leaves hashed on a thread pool give the CIDs and blocks of a serial import, with bounded memory in flight.

The serial import (`hash_threads=1`) is the reference here; test_importer.py ties it to Kubo, aleph-cid
and ipfs_cid. `_hash_slab` is wrapped by a spy that still runs it, only to see which thread hashed.
"""

from __future__ import annotations

import threading

import aleph_cid
import pytest

from integrations.ipfs import importer as importer_module
from integrations.ipfs.cid import RAW, cid_codec
from integrations.ipfs.dagpb import decode_node
from integrations.ipfs.importer import CHUNKS_PER_SLAB, Importer, ImportParams

CHUNK = 262_144
PATTERN = bytes(range(251))


class PatternStream:
    """`size` bytes i % 251 made on demand (never all in memory); counts what was read."""

    def __init__(self, size: int):
        self.size = size
        self.position = 0

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.position)
        start = self.position % 251
        block = (PATTERN * (count // 251 + 2))[start : start + count]
        buffer[:count] = block
        self.position += count
        return count


@pytest.fixture
def hashing_threads(monkeypatch):
    """Names of the threads that hashed each slab, in order."""
    names: list[str] = []
    real = importer_module._hash_slab

    def spy(*args):
        names.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(importer_module, "_hash_slab", spy)
    return names


def import_with_blocks(params: ImportParams, size: int, threads: int):
    blocks: dict[bytes, bytes] = {}
    importer = Importer(params, sink=lambda cid, *parts: blocks.setdefault(cid, b"".join(parts)), hash_threads=threads)
    return importer.add_stream(PatternStream(size)), blocks


SIZES = {
    "empty": 0,
    "one byte": 1,
    "one chunk": CHUNK,
    "one chunk + 1": CHUNK + 1,
    "one slab": CHUNKS_PER_SLAB * CHUNK,
    "one slab + 1": CHUNKS_PER_SLAB * CHUNK + 1,
    "odd tail": 7 * CHUNK + 12_345,
    "174 chunks": 174 * CHUNK,
    "175 chunks": 175 * CHUNK,
    "175 chunks + odd tail": 175 * CHUNK + 99,
}


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_parallel_import_gives_the_serial_cid_and_blocks(version, size, hashing_threads):
    serial, serial_blocks = import_with_blocks(ImportParams.kubo(version), size, threads=1)
    assert not any(name.startswith("cid-hash") for name in hashing_threads)
    hashing_threads.clear()
    for threads in (2, 4):
        parallel, parallel_blocks = import_with_blocks(ImportParams.kubo(version), size, threads=threads)
        assert parallel == serial
        assert parallel_blocks == serial_blocks
    if size > CHUNKS_PER_SLAB * CHUNK:
        assert any(name.startswith("cid-hash") for name in hashing_threads), "the pool hashed nothing"
    else:  # a file within its first slab is hashed inline: no thread is started for it
        assert not any(name.startswith("cid-hash") for name in hashing_threads)


@pytest.mark.parametrize("params", [
    ImportParams(chunk_size=1024),
    ImportParams(cid_version=1, raw_leaves=True, chunk_size=1024),
], ids=["v0", "v1-raw"])
def test_three_level_tree_of_174_squared_plus_one_leaves(params, hashing_threads):
    """174 × 174 + 1 leaves need a third level; small chunks keep it to 31 MB (the tree code is size-blind)."""
    size = (174 * 174 + 1) * params.chunk_size
    serial, _ = import_with_blocks(params, size, threads=1)
    blocks: dict[bytes, bytes] = {}
    root = Importer(params, sink=lambda cid, *parts: blocks.setdefault(cid, b"".join(parts)),
                    hash_threads=2).add_stream(PatternStream(size))
    assert root == serial
    top = decode_node(blocks[root.cid])
    assert len(top.links) == 2
    full, rest = (decode_node(blocks[link.cid]) for link in top.links)
    assert len(full.links) == 174 and len(decode_node(blocks[full.links[0].cid]).links) == 174
    assert len(rest.links) == 1 and len(decode_node(blocks[rest.links[0].cid]).links) == 1
    assert any(name.startswith("cid-hash") for name in hashing_threads)


@pytest.mark.slow
def test_174_squared_plus_one_chunks_at_kubo_chunk_size():
    """7.9 GB streamed: the parallel CIDv1 matches aleph-cid's streaming hasher, CIDv0 the serial import."""
    size = (174 * 174 + 1) * CHUNK
    hasher = aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()
    stream, buffer = PatternStream(size), bytearray(4 << 20)
    while read := stream.readinto(buffer):
        hasher.update(bytes(buffer[:read]))
    assert Importer(ImportParams.kubo(1), hash_threads=2).add_stream(PatternStream(size)).cid_str == hasher.finalize()
    assert (Importer(ImportParams.kubo(0), hash_threads=2).add_stream(PatternStream(size))
            == Importer(ImportParams.kubo(0), hash_threads=1).add_stream(PatternStream(size)))


class CountingSink:
    """Records, for every leaf block, how far the reader was ahead of it and which buffer held its bytes."""

    def __init__(self, stream: PatternStream, raw: bool):
        self.stream, self.raw = stream, raw
        self.sunk = 0
        self.ahead: list[int] = []
        self.buffers: dict[int, object] = {}

    def __call__(self, cid, *parts):
        leaf = cid_codec(cid) == RAW if self.raw else len(parts) == 3  # dag-pb leaves come as prefix, chunk, suffix
        if not leaf:
            return
        chunk = parts[0] if self.raw else parts[1]
        if not len(chunk):  # the empty file's leaf: no bytes to copy
            return
        assert isinstance(chunk, memoryview), "a leaf reaches the sink as a view of the read buffer, not a copy"
        self.buffers[id(chunk.obj)] = chunk.obj
        self.sunk += len(chunk)
        self.ahead.append(self.stream.position - self.sunk)


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("threads", [2, 4])
def test_chunks_in_flight_are_bounded_whatever_the_size(version, threads):
    """The same few reused buffers and the same read-ahead bound for 8 MiB and 96 MiB: nothing grows with size."""
    window = (threads + 1) * CHUNKS_PER_SLAB * CHUNK
    seen = []
    for size in (8 << 20, 96 << 20):
        stream = PatternStream(size)
        sink = CountingSink(stream, raw=version == 1)
        Importer(ImportParams.kubo(version), sink=sink, hash_threads=threads).add_stream(stream)
        assert sink.sunk == size
        assert max(sink.ahead) <= window
        assert len(sink.buffers) <= threads + 1
        seen.append((len(sink.buffers), max(sink.ahead)))
    assert seen[0] == seen[1]


def test_a_failing_read_stops_the_import_and_leaves_no_hashing_thread():
    class Failing(PatternStream):
        def readinto(self, buffer):
            if self.position >= 20 * CHUNK:
                raise OSError("disk gone")
            return super().readinto(buffer)

    with pytest.raises(OSError, match="disk gone"):
        Importer(ImportParams.kubo(0), hash_threads=2).add_stream(Failing(100 * CHUNK))
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("cid-hash")]


def test_default_hash_threads_follow_the_cpu_count(monkeypatch):
    monkeypatch.setattr(importer_module.os, "cpu_count", lambda: 16)
    assert Importer().hash_threads == 4
    monkeypatch.setattr(importer_module.os, "cpu_count", lambda: 1)
    assert Importer().hash_threads == 1
    assert Importer(hash_threads=0).hash_threads == 1


def pattern_bytes(length: int) -> bytes:
    stream = PatternStream(length)
    buffer = bytearray(length)
    stream.readinto(buffer)
    return bytes(buffer)


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("size", [0, 1, CHUNKS_PER_SLAB * CHUNK, CHUNKS_PER_SLAB * CHUNK + 1, 7 * CHUNK + 12_345,
                                  175 * CHUNK + 99], ids=["empty", "one byte", "one slab", "one slab + 1", "odd tail",
                                                          "175 chunks + odd tail"])
def test_files_read_by_the_workers_at_offsets_give_the_serial_cid_and_blocks(tmp_path, version, size, hashing_threads):
    """A regular file is read by the hashing threads themselves (pread at each slab's offset)."""
    path = tmp_path / "file.bin"
    path.write_bytes(pattern_bytes(size))
    serial, serial_blocks = import_with_blocks(ImportParams.kubo(version), size, threads=1)
    hashing_threads.clear()
    blocks: dict[bytes, bytes] = {}
    sink = CountingSink(PatternStream(0), raw=version == 1)

    def store(cid, *parts):
        sink(cid, *parts)
        blocks.setdefault(cid, b"".join(parts))

    assert Importer(ImportParams.kubo(version), sink=store, hash_threads=2).add_file(path) == serial
    assert blocks == serial_blocks
    assert len(sink.buffers) <= 3
    assert any(name.startswith("cid-hash") for name in hashing_threads) == (size > CHUNKS_PER_SLAB * CHUNK)


def test_a_file_opened_at_an_offset_is_read_from_there_and_left_at_its_end(tmp_path):
    data = pattern_bytes(30 * CHUNK + 7)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    expected = Importer(ImportParams.kubo(0), hash_threads=1).add_bytes(data[12_345:])
    with open(path, "rb", buffering=0) as handle:
        handle.seek(12_345)
        assert Importer(ImportParams.kubo(0), hash_threads=2).add_stream(handle) == expected
        assert handle.tell() == len(data)


@pytest.mark.parametrize("version", [0, 1])
def test_a_threaded_import_into_a_blockstore_stores_the_serial_blocks(tmp_path, version):
    """The real sink (one file per block, written from the reused buffers with writev) gets every block."""
    from integrations.ipfs.blockstore import Blockstore

    path = tmp_path / "file.bin"
    path.write_bytes(pattern_bytes(180 * CHUNK + 3))
    stores = {}
    for threads in (1, 2):
        store = Blockstore(tmp_path / f"blocks-{threads}")
        root = Importer(ImportParams.kubo(version), sink=store.put, hash_threads=threads).add_file(path)
        stores[threads] = (root, {key: store.read_key(key) for key in store.keys()})
    assert stores[1] == stores[2]
    root, blocks = stores[2]
    assert len(blocks) == 180 + 1 + 2 + 1  # 181 distinct leaves, the nodes of 174 and 7 links, the root


def test_one_importer_shared_by_threads_gives_each_its_own_cids():
    """Each thread's import has its own pool: one finishing never shuts down another's."""
    importer = Importer(ImportParams.kubo(0), hash_threads=2)
    sizes = [30 * CHUNK + index for index in range(4)]
    expected = {size: Importer(ImportParams.kubo(0), hash_threads=1).add_stream(PatternStream(size)) for size in sizes}
    results, errors = {}, []

    def run(size):
        try:
            results[size] = importer.add_stream(PatternStream(size))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=run, args=(size,)) for size in sizes]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == [] and results == expected
