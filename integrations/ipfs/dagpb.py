"""dag-pb nodes and UnixFS `Data` messages: hand-written protobuf, byte-for-byte as Kubo writes them.

dag-pb (PBNode): Links (field 2) come before Data (field 1); each PBLink is
Hash (1), Name (2), Tsize (3). Kubo always writes Name, even empty (file
nodes' links have Name ""): leaving it out changes the CID.
UnixFS Data: Type (1), Data (2), filesize (3), blocksizes (4, repeated,
not packed), hashType (5), fanout (6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.ipfs.cid import read_varint, varint

# UnixFS Data.Type
RAW_TYPE, DIRECTORY, FILE, METADATA, SYMLINK, HAMT_SHARD = 0, 1, 2, 3, 4, 5
MURMUR3_X64_64 = 0x22


@dataclass(frozen=True)
class Link:
    cid: bytes
    name: str
    tsize: int


@dataclass
class UnixFSData:
    type: int
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: list[int] = field(default_factory=list)
    hash_type: int | None = None
    fanout: int | None = None


@dataclass
class PBNode:
    links: list[Link]
    data: bytes | None


def _bytes_field(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def _varint_field(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def encode_link(link: Link) -> bytes:
    body = _bytes_field(1, link.cid) + _bytes_field(2, link.name.encode("utf-8")) + _varint_field(3, link.tsize)
    return _bytes_field(2, body)


def encode_node(links: list[Link], data: bytes | None) -> bytes:
    out = b"".join(encode_link(link) for link in links)
    if data is not None:
        out += _bytes_field(1, data)
    return out


def encode_unixfs(
    type_: int,
    *,
    data: bytes | None = None,
    filesize: int | None = None,
    blocksizes: list[int] | tuple[int, ...] = (),
    hash_type: int | None = None,
    fanout: int | None = None,
) -> bytes:
    out = _varint_field(1, type_)
    if data is not None:
        out += _bytes_field(2, data)
    if filesize is not None:
        out += _varint_field(3, filesize)
    for size in blocksizes:
        out += _varint_field(4, size)
    if hash_type is not None:
        out += _varint_field(5, hash_type)
    if fanout is not None:
        out += _varint_field(6, fanout)
    return out


def leaf_envelope(length: int) -> tuple[bytes, bytes]:
    """Bytes before and after a chunk of `length` bytes in a CIDv0 (dag-pb) file leaf.

    The leaf is PBNode{Data: UnixFS{Type: File, Data: chunk, filesize: length}};
    hashing prefix + chunk + suffix lets the importer hash a chunk without copying it.
    """
    if length == 0:
        inner = _varint_field(1, FILE) + _varint_field(3, 0)
        return _bytes_field(1, inner), b""
    unixfs_head = _varint_field(1, FILE) + varint(2 << 3 | 2) + varint(length)
    unixfs_tail = _varint_field(3, length)
    unixfs_length = len(unixfs_head) + length + len(unixfs_tail)
    return varint(1 << 3 | 2) + varint(unixfs_length) + unixfs_head, unixfs_tail


def _fields(data: bytes | memoryview):
    offset = 0
    while offset < len(data):
        key, offset = read_varint(data, offset)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, offset = read_varint(data, offset)
        elif wire == 2:
            length, offset = read_varint(data, offset)
            if offset + length > len(data):
                raise ValueError("truncated protobuf field")
            value = bytes(data[offset : offset + length])
            offset += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def decode_node(block: bytes | memoryview) -> PBNode:
    links: list[Link] = []
    data = None
    for number, wire, value in _fields(block):
        if number == 2 and wire == 2:
            cid, name, tsize = b"", "", 0
            for link_number, _, link_value in _fields(value):
                if link_number == 1:
                    cid = link_value
                elif link_number == 2:
                    name = link_value.decode("utf-8", errors="replace")
                elif link_number == 3:
                    tsize = link_value
            links.append(Link(cid=cid, name=name, tsize=tsize))
        elif number == 1 and wire == 2:
            data = value
    return PBNode(links=links, data=data)


def decode_unixfs(data: bytes) -> UnixFSData:
    result = UnixFSData(type=-1)
    for number, _, value in _fields(data):
        if number == 1:
            result.type = value
        elif number == 2:
            result.data = value
        elif number == 3:
            result.filesize = value
        elif number == 4:
            result.blocksizes.append(value)
        elif number == 5:
            result.hash_type = value
        elif number == 6:
            result.fanout = value
    return result
