"""The embedded node: add, cat (ranges), ls, resolve, pin/unpin, gc, CAR export, verify."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from integrations.ipfs.car import car_read
from integrations.ipfs.cid import cid_digest, cid_parse, cid_to_str
from integrations.ipfs.importer import ImportParams
from integrations.ipfs.node import BlockMissing, CorruptBlock, EmbeddedNode, NotAFile, PathNotFound
from tests.ipfs.test_importer import CHUNK, hls_like_folder, make_tree, pattern_bytes


@pytest.fixture
def node(tmp_path):
    return EmbeddedNode(tmp_path / "repo" / "blocks")


@pytest.mark.parametrize("version", [0, 1])
def test_add_and_cat_whole_and_ranges(node, version):
    data = pattern_bytes(3 * CHUNK + 1000)
    added = node.add_bytes(data, params=ImportParams.kubo(version))
    assert b"".join(node.cat(added.cid)) == data
    for offset, length in [(0, 1), (CHUNK - 3, 10), (2 * CHUNK, CHUNK), (len(data) - 5, 100), (17, 0)]:
        assert b"".join(node.cat(added.cid, offset=offset, length=length)) == data[offset : offset + length]
    assert node.stat(added.cid).size == len(data)


def test_add_stream_matches_add_bytes(node):
    data = pattern_bytes(CHUNK * 2 + 3)
    assert node.add_stream(io.BytesIO(data)).cid == node.add_bytes(data).cid


def test_json_is_canonical(node):
    first = node.add_json({"b": 1, "a": "é"})
    second = node.add_json({"a": "é", "b": 1})
    assert first.cid == second.cid
    assert json.loads(b"".join(node.cat(first.cid))) == {"a": "é", "b": 1}


@pytest.mark.parametrize("version", [0, 1])
def test_directory_ls_and_resolve(node, tmp_path, version):
    root = make_tree(tmp_path / "tree")
    added = node.add_directory(root, params=ImportParams.kubo(version))
    names = [entry.name for entry in node.ls(added.cid)]
    assert names == sorted(names, key=str.encode) == ["Z upper.txt", "a b", "empty dir", "top.bin"]
    leaf = node.resolve(added.cid, ["a b", "ünïcødé földer", "file one.txt"])
    assert b"".join(node.cat(leaf)) == b"one\n"
    with pytest.raises(PathNotFound):
        node.resolve(added.cid, ["a b", "missing"])
    with pytest.raises(PathNotFound):
        node.resolve(added.cid, ["top.bin", "below a file"])
    with pytest.raises(NotAFile):
        list(node.cat(added.cid))


def test_hamt_directory_lookup_and_listing(node, tmp_path):
    folder = hls_like_folder(tmp_path / "rung", 3971, 24)  # sharded, as a long video's rung folder
    added = node.add_directory(folder)
    entries = node.ls(added.cid)
    assert len(entries) == 3972
    assert entries[0].name == "seg00000000000000000000000000.ts"
    cid = node.resolve(added.cid, ["seg00000000000000000000001234.ts"])
    assert b"".join(node.cat(cid)) == b"x"
    assert b"".join(node.cat(node.resolve(added.cid, ["z" * 24]))) == b"y"
    with pytest.raises(PathNotFound):
        node.resolve(added.cid, ["not-there.ts"])


def test_pin_unpin_and_gc(node):
    kept = node.add_bytes(pattern_bytes(CHUNK + 1))
    dropped = node.add_bytes(b"temporary", pin=False)
    unpinned = node.add_bytes(pattern_bytes(2 * CHUNK + 7)[7:])
    assert node.unpin(unpinned.cid)
    assert set(node.pins()) == {kept.cid_str}
    report = node.gc()
    assert report.removed == 1 + 3  # the unpinned small file, and the 3 blocks of the unpinned one
    assert b"".join(node.cat(kept.cid)) == pattern_bytes(CHUNK + 1)
    for gone in (dropped.cid, unpinned.cid):
        with pytest.raises(BlockMissing):
            list(node.cat(gone))


def test_pin_refuses_an_incomplete_dag(node, tmp_path):
    added = node.add_bytes(pattern_bytes(2 * CHUNK), pin=False)
    leaf = node.missing_blocks(added.cid)
    assert leaf == []
    first_leaf = _first_link(node, added.cid)
    node.blocks.path(first_leaf).unlink()
    with pytest.raises(BlockMissing):
        node.pin(added.cid)
    assert not node.is_pinned(added.cid)


def _first_link(node, cid):
    from integrations.ipfs.dagpb import decode_node

    return decode_node(node.get_block(cid)).links[0].cid


def test_car_export_blocks_hash_to_their_cids(node, tmp_path):
    added = node.add_directory(make_tree(tmp_path / "tree"), params=ImportParams.kubo(1))
    roots, blocks = car_read(b"".join(node.export_car(added.cid)))
    assert roots == [added.cid]
    assert blocks[0][0] == added.cid
    assert len(blocks) == len({cid for cid, _ in blocks}) >= 6
    for cid, data in blocks:
        assert hashlib.sha256(data).digest() == cid_digest(cid)
    only_root = car_read(b"".join(node.export_car(added.cid, scope="block")))[1]
    assert [cid for cid, _ in only_root] == [added.cid]


def test_car_matches_aleph_cid_reader(node, tmp_path):
    """aleph-cid (an independent implementation) reads our CAR header's root."""
    import aleph_cid

    added = node.add_bytes(pattern_bytes(CHUNK + 9))
    path = tmp_path / "out.car"
    path.write_bytes(b"".join(node.export_car(added.cid)))
    assert aleph_cid.read_carv1_root(str(path)) == added.cid_str


def test_verify_finds_a_corrupt_block_and_cat_refuses_it(node):
    added = node.add_bytes(pattern_bytes(3 * CHUNK))
    leaf = _first_link(node, added.cid)
    path = node.blocks.path(leaf)
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))
    report = node.verify()
    assert report.checked == 4
    assert report.corrupt == [node.blocks.key(leaf)]
    with pytest.raises(CorruptBlock):
        b"".join(node.cat(added.cid))
    # bytes of healthy blocks are still served
    assert b"".join(node.cat(added.cid, offset=CHUNK, length=10)) == pattern_bytes(3 * CHUNK)[CHUNK : CHUNK + 10]


def test_cid_text_forms_round_trip(node):
    added = node.add_bytes(b"abc", params=ImportParams.kubo(1))
    assert cid_parse(cid_to_str(added.cid)) == added.cid
