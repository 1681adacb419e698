"""UnixFS HAMT directory shards, built as Kubo (boxo/ipld/unixfs/hamt) builds them.

Fanout 256: each level consumes one byte of the name's murmur3-x64-64 hash
(the first 64 bits of murmur3 x64 128, seed 0, big-endian). A slot holds one
entry or a child shard; a collision pushes both entries one level down. Link
names are the slot index as two upper-case hex digits, followed by the entry's
name (no name for a child shard). The node's Data is the occupied-slot bitfield,
big-endian with leading zero bytes trimmed.
"""

from __future__ import annotations

from collections.abc import Callable

from integrations.ipfs.dagpb import HAMT_SHARD, MURMUR3_X64_64, Link, encode_node, encode_unixfs

FANOUT = 256
_MASK = (1 << 64) - 1


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    k ^= k >> 33
    return k


def murmur3_x64_64(data: bytes, seed: int = 0) -> bytes:
    """First 64 bits (h1) of MurmurHash3 x64 128, big-endian, as Go's murmur3.New64 gives them."""
    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
    h1 = h2 = seed
    length = len(data)
    blocks = length // 16
    for index in range(blocks):
        k1 = int.from_bytes(data[index * 16 : index * 16 + 8], "little")
        k2 = int.from_bytes(data[index * 16 + 8 : index * 16 + 16], "little")
        k1 = (k1 * c1) & _MASK
        k1 = _rotl(k1, 31)
        k1 = (k1 * c2) & _MASK
        h1 ^= k1
        h1 = _rotl(h1, 27)
        h1 = (h1 + h2) & _MASK
        h1 = (h1 * 5 + 0x52DCE729) & _MASK
        k2 = (k2 * c2) & _MASK
        k2 = _rotl(k2, 33)
        k2 = (k2 * c1) & _MASK
        h2 ^= k2
        h2 = _rotl(h2, 31)
        h2 = (h2 + h1) & _MASK
        h2 = (h2 * 5 + 0x38495AB5) & _MASK
    tail = data[blocks * 16 :]
    k1 = k2 = 0
    if len(tail) > 8:
        k2 = int.from_bytes(tail[8:], "little")
        k2 = (k2 * c2) & _MASK
        k2 = _rotl(k2, 33)
        k2 = (k2 * c1) & _MASK
        h2 ^= k2
    if tail:
        k1 = int.from_bytes(tail[:8], "little")
        k1 = (k1 * c1) & _MASK
        k1 = _rotl(k1, 31)
        k1 = (k1 * c2) & _MASK
        h1 ^= k1
    h1 ^= length
    h2 ^= length
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1 = _fmix(h1)
    h2 = _fmix(h2)
    h1 = (h1 + h2) & _MASK
    return h1.to_bytes(8, "big")


def slot_of(name: str, depth: int) -> int:
    digest = murmur3_x64_64(name.encode("utf-8"))
    if depth >= len(digest):
        raise ValueError(f"HAMT deeper than the hash allows for {name!r}")
    return digest[depth]


class _Shard:
    def __init__(self, depth: int):
        self.depth = depth
        self.slots: dict[int, Link | _Shard] = {}

    def insert(self, link: Link) -> None:
        index = slot_of(link.name, self.depth)
        current = self.slots.get(index)
        if current is None:
            self.slots[index] = link
        elif isinstance(current, _Shard):
            current.insert(link)
        else:
            child = _Shard(self.depth + 1)
            child.insert(current)
            child.insert(link)
            self.slots[index] = child


def build_hamt(links: list[Link], put_node: Callable[[bytes], tuple[bytes, int]]) -> tuple[bytes, int]:
    """Root (cid, tsize) of a HAMT holding `links` (each named by its entry name).

    `put_node(block)` stores a dag-pb block and returns (cid, block length).
    """
    root = _Shard(0)
    for link in links:
        root.insert(link)
    return _write(root, put_node)


def _write(shard: _Shard, put_node) -> tuple[bytes, int]:
    node_links: list[Link] = []
    bitfield = 0
    for index in sorted(shard.slots):
        bitfield |= 1 << index
        entry = shard.slots[index]
        prefix = f"{index:02X}"
        if isinstance(entry, _Shard):
            cid, tsize = _write(entry, put_node)
            node_links.append(Link(cid=cid, name=prefix, tsize=tsize))
        else:
            node_links.append(Link(cid=entry.cid, name=prefix + entry.name, tsize=entry.tsize))
    bits = bitfield.to_bytes(FANOUT // 8, "big").lstrip(b"\0")
    data = encode_unixfs(HAMT_SHARD, data=bits, hash_type=MURMUR3_X64_64, fanout=FANOUT)
    block = encode_node(node_links, data)
    cid, length = put_node(block)
    return cid, length + sum(link.tsize for link in node_links)
