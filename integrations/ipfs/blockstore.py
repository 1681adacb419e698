"""Blocks on disk, one file per block in sharded folders (like Kubo's flatfs `next-to-last/2`).

A block is stored under its multihash (so a CIDv0 and a CIDv1 of the same dag-pb
block share it), written to a temporary file and renamed into place, so a reader
never sees half a block. Reads are verified by the caller (`EmbeddedNode`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from integrations.ipfs.cid import b32decode, b32encode, cid_multihash


class Blockstore:
    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    @staticmethod
    def key(cid: bytes) -> str:
        return b32encode(cid_multihash(cid)).upper()

    def path(self, cid: bytes) -> Path:
        key = self.key(cid)
        return self.directory / key[-3:-1] / f"{key}.data"

    def has(self, cid: bytes) -> bool:
        return self.path(cid).is_file()

    def get(self, cid: bytes) -> bytes | None:
        try:
            return self.path(cid).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, cid: bytes, *parts) -> bool:
        """Store a block given as its parts (written without joining them); False if it was there."""
        target = self.path(cid)
        if target.is_file():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        try:
            buffers = [part for part in parts if len(part)]
            total = sum(len(part) for part in buffers)
            written = os.writev(handle, buffers) if buffers else 0
            while written < total:  # a short write: finish it piece by piece
                joined = b"".join(bytes(part) for part in buffers)
                written += os.write(handle, joined[written:])
            os.close(handle)
            os.replace(temporary, target)
        except BaseException:
            try:
                os.close(handle)
            except OSError:
                pass
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def delete(self, multihash_key: str) -> None:
        (self.directory / multihash_key[-3:-1] / f"{multihash_key}.data").unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Multihash keys of every stored block."""
        if not self.directory.is_dir():
            return
        for shard in sorted(self.directory.iterdir()):
            if shard.is_dir() and len(shard.name) == 2:
                for entry in sorted(shard.iterdir()):
                    if entry.suffix == ".data" and not entry.name.startswith("."):
                        yield entry.stem

    def read_key(self, multihash_key: str) -> bytes:
        return (self.directory / multihash_key[-3:-1] / f"{multihash_key}.data").read_bytes()

    @staticmethod
    def multihash_of_key(multihash_key: str) -> bytes:
        return b32decode(multihash_key)

    def size(self) -> tuple[int, int]:
        """(number of blocks, bytes)."""
        count = total = 0
        for key in self.keys():
            count += 1
            total += (self.directory / key[-3:-1] / f"{key}.data").stat().st_size
        return count, total
