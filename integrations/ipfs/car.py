"""CAR v1 (Content Addressable aRchive): a DAG-CBOR header naming the roots, then (CID, block) sections."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from integrations.ipfs.cid import read_varint, varint


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes((major << 5 | value,))
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * width):
            return bytes((major << 5 | info,)) + value.to_bytes(width, "big")
    raise ValueError("value too large")


def car_header(roots: list[bytes]) -> bytes:
    """DAG-CBOR `{"roots": [CID...], "version": 1}` (keys in DAG-CBOR's canonical order)."""
    body = _cbor_head(5, 2)
    body += _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for cid in roots:
        # tag 42, byte string with the identity multibase prefix 0x00
        body += b"\xd8\x2a" + _cbor_head(2, len(cid) + 1) + b"\x00" + cid
    body += _cbor_head(3, 7) + b"version" + _cbor_head(0, 1)
    return varint(len(body)) + body


def car_stream(roots: list[bytes], blocks: Iterable[tuple[bytes, bytes]]) -> Iterator[bytes]:
    yield car_header(roots)
    for cid, data in blocks:
        yield varint(len(cid) + len(data)) + cid
        yield data


def _read_cid(data: bytes, offset: int) -> tuple[bytes, int]:
    if data[offset] == 0x12 and data[offset + 1] == 0x20:  # CIDv0: a bare sha2-256 multihash
        return data[offset : offset + 34], offset + 34
    start = offset
    _, offset = read_varint(data, offset)  # version
    _, offset = read_varint(data, offset)  # codec
    _, offset = read_varint(data, offset)  # hash code
    length, offset = read_varint(data, offset)
    return data[start : offset + length], offset + length


def car_read(data: bytes) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
    """(roots, [(cid, block)]) of a whole CAR v1 in memory (for tests and small archives)."""
    header_length, offset = read_varint(data)
    header = data[offset : offset + header_length]
    offset += header_length
    roots = []
    position = 0
    # walk the tiny header by hand: find each tag-42 byte string
    while True:
        position = header.find(b"\xd8\x2a", position)
        if position < 0:
            break
        head = header[position + 2]
        if head & 0x1F < 24:
            length, start = head & 0x1F, position + 3
        else:
            length, start = header[position + 3], position + 4
        roots.append(header[start + 1 : start + length])
        position = start + length
    blocks = []
    while offset < len(data):
        section_length, offset = read_varint(data, offset)
        end = offset + section_length
        cid, block_start = _read_cid(data, offset)
        blocks.append((cid, data[block_start:end]))
        offset = end
    return roots, blocks
