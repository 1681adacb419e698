"""`manage.py ipfs`: add (with a progress bar), ls, pin/unpin, verify finds a corrupt block, gc, records."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from integrations.ipfs.dagpb import decode_node
from pinning import services
from tests.ipfs.test_importer import CHUNK, make_tree, pattern_bytes


@pytest.fixture
def node(settings, tmp_path):
    settings.IPFS_BLOCKSTORE_DIR = tmp_path / "ipfs" / "blocks"
    return services.ipfs_node()


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ipfs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_large_file_shows_progress_and_gives_kubo_cid(node, tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(pattern_bytes(10 << 20))
    out, err = run("add", str(path))
    assert "added QmRAsWzZB1zs3xJ93dXhkhKkJjFLWCEC6h5HswGZgHVcxk big.bin" in out
    assert "100.0%" in err and "10.5/10.5 MB" in err and "[" in err
    assert '"chunk_size": 262144' in out
    assert "QmRAsWzZB1zs3xJ93dXhkhKkJjFLWCEC6h5HswGZgHVcxk" in node.pins()
    out, _ = run("add", str(path), "--cid-version", "1", "--only-hash", "--no-progress")
    assert "bafybeih4kagh7adu5njlrodpibagiyttjpsfgsxw5buthmrw5edmkavvqi" in out and "[only hash]" in out


def test_add_folder_ls_unpin_gc(node, tmp_path):
    out, _ = run("add", str(make_tree(tmp_path / "tree")))
    cid = out.split()[1]
    listing, _ = run("ls", cid)
    assert "a b/" in listing and "top.bin" in listing
    inner, _ = run("ls", f"/ipfs/{cid}/a b")
    assert "日本語.txt" in inner
    run("unpin", cid)
    gc_out, _ = run("gc")
    assert "removed" in gc_out and not gc_out.startswith("removed 0 ")
    with pytest.raises(CommandError, match="not pinned"):
        run("unpin", cid)


def test_verify_reports_a_corrupt_block(node):
    added = node.add_bytes(pattern_bytes(2 * CHUNK + 1))
    out, _ = run("verify")
    assert "verified 4 blocks" in out
    leaf = decode_node(node.get_block(added.cid)).links[1].cid
    path = node.blocks.path(leaf)
    data = bytearray(path.read_bytes())
    data[7] ^= 0x40
    path.write_bytes(bytes(data))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 4 blocks are corrupt"):
        call_command("ipfs", "verify", stdout=out, stderr=io.StringIO())
    assert f"CORRUPT block {node.blocks.key(leaf)}" in out.getvalue()


@pytest.mark.parametrize("args,message", [
    (("add", "/nonexistent/file"), "no such file"),
    (("ls", "not-a-cid"), "not a CID"),
    (("pin", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"), "not in the blockstore"),
    (("pin",), "give a CID"),
])
def test_bad_input_is_a_readable_error(node, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.django_db
def test_records_and_retry(node, django_user_model):
    from pinning.models import IPFSRecord

    record = IPFSRecord.objects.create(name="x", kind="file", backend="embedded", status="failed", last_error="boom")
    out, _ = run("records", "--status", "failed")
    assert "boom" in out and str(record.pk) in out
    with pytest.raises(CommandError, match="Only failed pins"):
        IPFSRecord.objects.filter(pk=record.pk).update(status="pinned", cid="QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
        run("pin", "--retry", str(record.pk))
