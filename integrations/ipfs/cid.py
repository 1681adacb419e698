"""CIDs, multihashes and the few multiformats encodings IPFS needs (no dependencies).

A CID is kept as its binary form (`bytes`); `cid_to_str` gives Kubo's text form:
base58btc for CIDv0, base32 lower-case (prefix `b`) for CIDv1. `cid_parse`
reads either (and base58btc CIDv1 `z…`, which js-ipfs answers with).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

DAG_PB = 0x70
RAW = 0x55
SHA2_256 = 0x12
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}


class InvalidCID(ValueError):
    pass


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """(value, offset after it)."""
    value = shift = 0
    while True:
        if offset >= len(data):
            raise ValueError("truncated varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, remainder = divmod(number, 58)
        out.append(_B58_ALPHABET[remainder])
    leading = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise InvalidCID(f"invalid base58 character {char!r}")
        number = number * 58 + _B58_INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading = len(text) - len(text.lstrip("1"))
    return b"\0" * leading + body


def b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def b32decode(text: str) -> bytes:
    text = text.upper()
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError) as error:
        raise InvalidCID(f"invalid base32: {error}") from None


def multihash_sha256(digest: bytes) -> bytes:
    return bytes((SHA2_256, 32)) + digest


def make_cid(digest: bytes, *, version: int, codec: int) -> bytes:
    multihash = multihash_sha256(digest)
    if version == 0:
        if codec != DAG_PB:
            raise ValueError("CIDv0 is dag-pb only")
        return multihash
    return bytes((1,)) + varint(codec) + multihash


def cid_for_block(data: bytes, *, version: int, codec: int) -> bytes:
    return make_cid(hashlib.sha256(data).digest(), version=version, codec=codec)


def cid_version(cid: bytes) -> int:
    return 0 if len(cid) == 34 and cid[0] == SHA2_256 else 1


def cid_codec(cid: bytes) -> int:
    if cid_version(cid) == 0:
        return DAG_PB
    codec, _ = read_varint(cid, 1)
    return codec


def cid_multihash(cid: bytes) -> bytes:
    if cid_version(cid) == 0:
        return cid
    _, offset = read_varint(cid, 1)
    return cid[offset:]


def cid_digest(cid: bytes) -> bytes:
    multihash = cid_multihash(cid)
    code, offset = read_varint(multihash)
    length, offset = read_varint(multihash, offset)
    if code != SHA2_256 or length != 32:
        raise InvalidCID("only sha2-256 multihashes are supported")
    return multihash[offset : offset + length]


def cid_to_str(cid: bytes) -> str:
    if cid_version(cid) == 0:
        return b58encode(cid)
    return "b" + b32encode(cid)


def cid_to_v1(cid: bytes) -> bytes:
    """The same content as a CIDv1 (a CIDv0 is a bare dag-pb multihash): what a subdomain gateway's label needs."""
    if cid_version(cid) == 1:
        return cid
    return bytes((1,)) + varint(DAG_PB) + cid


def cid_parse(text: str) -> bytes:
    """Binary CID from its text form; raises InvalidCID with the reason."""
    text = (text or "").strip()
    if not text:
        raise InvalidCID("empty CID")
    if len(text) == 46 and text.startswith("Qm"):
        cid = b58decode(text)
        if len(cid) != 34 or cid[:2] != bytes((SHA2_256, 32)):
            raise InvalidCID(f"{text!r} is not a CIDv0")
        return cid
    prefix, body = text[0], text[1:]
    if prefix in "bB":
        cid = b32decode(body)
    elif prefix == "z":
        cid = b58decode(body)
    elif prefix == "f":
        try:
            cid = bytes.fromhex(body)
        except ValueError:
            raise InvalidCID(f"{text!r} is not valid base16") from None
    else:
        raise InvalidCID(f"{text!r} is not a CID (unknown multibase prefix {prefix!r})")
    try:
        version, offset = read_varint(cid)
        if version != 1:
            raise InvalidCID(f"{text!r}: unsupported CID version {version}")
        codec, offset = read_varint(cid, offset)
        code, offset = read_varint(cid, offset)
        length, offset = read_varint(cid, offset)
    except ValueError as error:
        raise InvalidCID(f"{text!r}: {error}") from None
    if len(cid) != offset + length:
        raise InvalidCID(f"{text!r}: multihash length does not match")
    if code != SHA2_256 or length != 32:
        raise InvalidCID(f"{text!r}: only sha2-256 CIDs are supported")
    if codec not in (DAG_PB, RAW):
        raise InvalidCID(f"{text!r}: only dag-pb and raw CIDs are supported")
    return cid


def cid_normalize(text: str) -> str:
    """Kubo's text form of any accepted spelling (js-ipfs answers CIDv1 in base58btc)."""
    return cid_to_str(cid_parse(text))


def block_matches(cid: bytes, data: bytes | memoryview) -> bool:
    return hashlib.sha256(data).digest() == cid_digest(cid)
