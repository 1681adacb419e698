"""The gateway at /ipfs/<cid>[/<path>]: an HLS folder from ffmpeg served as files, ranges, raw blocks and CARs."""

from __future__ import annotations

import hashlib

import pytest

from integrations.ipfs.car import car_read
from integrations.ipfs.cid import cid_digest, cid_parse
from integrations.ipfs.dagpb import decode_node
from integrations.ipfs.importer import ImportParams
from pinning.services import ipfs_node
from tests.ipfs.hls import make_hls_folder
from tests.ipfs.test_importer import CHUNK, pattern_bytes


@pytest.fixture
def node(settings, tmp_path):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "ipfs" / "blocks"
    return ipfs_node()


@pytest.fixture(scope="session")
def hls_folder(make_clip, tmp_path_factory):
    return make_hls_folder(make_clip(seconds=3), tmp_path_factory.mktemp("hls") / "video-1")


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("version", [0, 1])
def test_hls_folder_files_come_back_byte_for_byte(client, node, hls_folder, version):
    root = node.add_directory(hls_folder, params=ImportParams.kubo(version)).cid_str
    master = client.get(f"/ipfs/{root}/master.m3u8")
    assert master.status_code == 200
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    assert body(master) == (hls_folder / "master.m3u8").read_bytes()
    assert master["Etag"].startswith('"')
    segment_path = sorted((hls_folder / "240p").glob("*.ts"))[0]
    segment = client.get(f"/ipfs/{root}/240p/{segment_path.name}")
    assert segment.status_code == 200
    assert segment["Content-Type"] == "video/mp2t"
    assert body(segment) == segment_path.read_bytes()


def test_range_request_returns_206_with_the_slice(client, node, hls_folder):
    root = node.add_directory(hls_folder).cid_str
    segment_path = sorted((hls_folder / "240p").glob("*.ts"))[0]
    data = segment_path.read_bytes()
    url = f"/ipfs/{root}/240p/{segment_path.name}"
    response = client.get(url, HTTP_RANGE="bytes=100-1099")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert response["Content-Length"] == "1000"
    assert body(response) == data[100:1100]
    tail = client.get(url, HTTP_RANGE="bytes=-50")
    assert tail.status_code == 206 and body(tail) == data[-50:]
    beyond = client.get(url, HTTP_RANGE=f"bytes={len(data)}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(data)}"


def test_range_across_chunk_boundaries_of_a_large_file(client, node):
    data = pattern_bytes(3 * CHUNK + 11)
    cid = node.add_bytes(data).cid_str
    response = client.get(f"/ipfs/{cid}?filename=big.bin", HTTP_RANGE=f"bytes={CHUNK - 5}-{2 * CHUNK + 4}")
    assert response.status_code == 206
    assert body(response) == data[CHUNK - 5 : 2 * CHUNK + 5]


def test_directory_index_lists_the_rungs(client, node, hls_folder):
    root = node.add_directory(hls_folder).cid_str
    redirect = client.get(f"/ipfs/{root}")
    assert redirect.status_code == 301 and redirect["Location"] == f"/ipfs/{root}/"
    listing = client.get(f"/ipfs/{root}/")
    assert listing.status_code == 200
    assert listing["Content-Type"].startswith("text/html")
    html = listing.content.decode()
    for name in ("master.m3u8", "240p/", "120p/"):
        assert f'href="{name}"' in html


def test_car_of_the_folder_holds_every_block_hashing_to_its_cid(client, node, hls_folder):
    added = node.add_directory(hls_folder)
    response = client.get(f"/ipfs/{added.cid_str}?format=car")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.ipld.car; version=1"
    assert "attachment" in response["Content-Disposition"]
    car = body(response)
    roots, blocks = car_read(car)
    assert roots == [added.cid]
    for cid, data in blocks:
        assert hashlib.sha256(data).digest() == cid_digest(cid)
    files = sum(1 for path in hls_folder.rglob("*") if path.is_file())
    assert len(blocks) >= files + 3  # every file and the three folders
    by_accept = client.get(f"/ipfs/{added.cid_str}", HTTP_ACCEPT="application/vnd.ipld.car")
    assert body(by_accept) == car


def test_raw_block_by_format_and_accept(client, node):
    added = node.add_bytes(pattern_bytes(CHUNK + 1))
    expected = node.get_block(added.cid)
    for kwargs in ({"path": f"/ipfs/{added.cid_str}?format=raw"},
                   {"path": f"/ipfs/{added.cid_str}", "HTTP_ACCEPT": "application/vnd.ipld.raw"}):
        response = client.get(**kwargs)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.ipld.raw"
        assert response.content == expected
    # ?format wins over Accept
    response = client.get(f"/ipfs/{added.cid_str}?format=car", HTTP_ACCEPT="application/vnd.ipld.raw")
    assert response["Content-Type"].startswith("application/vnd.ipld.car")


@pytest.mark.parametrize("url,status", [
    ("/ipfs/not-a-cid", 400),
    ("/ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o?format=zip", 400),
    ("/ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", 404),  # valid CID, not here
    ("/ipfs/bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", 404),
])
def test_bad_requests(client, node, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert response.content.strip()


def test_missing_path_is_404_and_dotdot_is_400(client, node, hls_folder):
    root = node.add_directory(hls_folder).cid_str
    assert client.get(f"/ipfs/{root}/nope.m3u8").status_code == 404
    assert client.get(f"/ipfs/{root}/master.m3u8/below").status_code == 404
    assert client.get(f"/ipfs/{root}/240p/../master.m3u8").status_code in (400, 404)
    assert client.post(f"/ipfs/{root}/master.m3u8").status_code == 405


def test_never_serves_bytes_that_do_not_hash(client, node):
    data = pattern_bytes(2 * CHUNK + 100)
    added = node.add_bytes(data)
    first, second, _ = decode_node(node.get_block(added.cid)).links
    # corrupt the first leaf: refused before any byte is sent
    path = node.blocks.path(first.cid)
    good = path.read_bytes()
    path.write_bytes(good[:50] + bytes([good[50] ^ 1]) + good[51:])
    response = client.get(f"/ipfs/{added.cid_str}")
    assert response.status_code == 502
    assert b"corrupt" in response.content
    raw = client.get(f"/ipfs/{first.cid.hex()}")  # not a valid text CID
    assert raw.status_code == 400
    path.write_bytes(good)
    # corrupt the second leaf: the first block's bytes go out, then the stream stops before the bad one
    path = node.blocks.path(second.cid)
    bad = bytearray(path.read_bytes())
    bad[-10] ^= 1
    path.write_bytes(bytes(bad))
    response = client.get(f"/ipfs/{added.cid_str}")
    sent = bytearray()
    with pytest.raises(Exception, match="does not hash"):
        for chunk in response.streaming_content:
            sent += chunk
    assert bytes(sent) == data[:CHUNK]
    assert client.get(f"/ipfs/{cid_str(second.cid)}?format=raw").status_code == 502


def cid_str(cid: bytes) -> str:
    from integrations.ipfs.cid import cid_to_str

    return cid_to_str(cid)


def test_head_and_conditional_requests(client, node):
    cid = node.add_bytes(b"hello world\n").cid_str
    head = client.head(f"/ipfs/{cid}?filename=hello.txt")
    assert head.status_code == 200 and head["Content-Length"] == "12"
    assert head["Content-Type"].startswith("text/plain")
    assert head["X-Ipfs-Roots"] == cid
    assert head["Content-Disposition"] == "inline; filename*=UTF-8''hello.txt"
    again = client.get(f"/ipfs/{cid}", HTTP_IF_NONE_MATCH=head["Etag"])
    assert again.status_code == 304
    assert cid_parse(cid)


def test_car_dag_scopes(client, node, hls_folder):
    added = node.add_directory(hls_folder)
    every = car_read(body(client.get(f"/ipfs/{added.cid_str}?format=car&dag-scope=all")))[1]
    entity = car_read(body(client.get(f"/ipfs/{added.cid_str}?format=car&dag-scope=entity")))[1]
    block = car_read(body(client.get(f"/ipfs/{added.cid_str}?format=car&dag-scope=block")))[1]
    assert [cid for cid, _ in block] == [added.cid]
    assert [cid for cid, _ in entity] == [added.cid]  # a plain directory's entity is its own node
    assert len(every) > len(entity)
    master = node.resolve(added.cid, ["master.m3u8"])
    file_entity = car_read(body(client.get(f"/ipfs/{added.cid_str}/master.m3u8?format=car&dag-scope=entity")))
    assert file_entity[0] == [master]
    assert client.get(f"/ipfs/{added.cid_str}?format=car&dag-scope=nope").status_code == 400


def test_symlink_node_is_not_a_500(client, node):
    """A UnixFS symlink node (we never make one, another tool could) is refused with a clear status."""
    from integrations.ipfs.cid import DAG_PB, cid_for_block, cid_to_str
    from integrations.ipfs.dagpb import SYMLINK, encode_node, encode_unixfs

    block = encode_node([], encode_unixfs(SYMLINK, data=b"/etc/passwd"))
    cid = cid_for_block(block, version=1, codec=DAG_PB)
    node.blocks.put(cid, block)
    response = client.get(f"/ipfs/{cid_to_str(cid)}")
    assert response.status_code == 501 and b"cannot serve" in response.content


def test_car_entity_bytes_holds_only_the_blocks_of_that_range(client, node):
    data = pattern_bytes(5 * CHUNK)
    added = node.add_bytes(data, params=ImportParams.kubo(1))
    leaves = [link.cid for link in decode_node(node.get_block(added.cid)).links]
    url = f"/ipfs/{added.cid_str}?format=car&dag-scope=entity"
    _, blocks = car_read(body(client.get(url + f"&entity-bytes={CHUNK + 10}:{2 * CHUNK + 5}")))
    assert [cid for cid, _ in blocks] == [added.cid, leaves[1], leaves[2]]
    _, tail = car_read(body(client.get(url + "&entity-bytes=-10:*")))
    assert [cid for cid, _ in tail] == [added.cid, leaves[4]]
    assert b"".join(block for cid, block in blocks[1:]) == data[CHUNK : 3 * CHUNK]
    assert client.get(url + "&entity-bytes=5").status_code == 400
    assert client.get(url + "&entity-bytes=9:3").status_code == 400
    assert client.get(f"/ipfs/{added.cid_str}?format=car&entity-bytes=0:*").status_code == 400
