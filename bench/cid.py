"""CID of a 200 MB file: our UnixFS importer vs hashlib.sha256 over the same bytes (the limit) and vs `ipfs_cid`.

    .venv/bin/python bench/cid.py [--size-mb 200] [--runs 3]

Every method reads the same file (warm in the page cache) in 256 KiB reads;
the best of `--runs` is kept for each. Target: the importer at >= 80 % of the
streamed sha256 rate, about 4x `ipfs_cid`, and flat memory (< 64 MB above the
interpreter for any size): peak RSS is measured in a fresh child process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from integrations.ipfs.importer import Importer, ImportParams  # noqa: E402

CHUNK = 262_144


def sha256_streamed(path: Path) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
    return digest.hexdigest()


def importer_cid(path: Path, version: int) -> str:
    return Importer(ImportParams.kubo(version)).add_file(path).cid_str


def ipfs_cid_cli(path: Path) -> str:
    output = subprocess.run(["ipfs_cid", str(path)], check=True, capture_output=True, text=True).stdout
    return json.loads(output[: output.index("}") + 1])["CIDv0"]


def best_rate(function, path: Path, size: int, runs: int) -> tuple[float, str]:
    best, result = float("inf"), ""
    for _ in range(runs):
        started = time.perf_counter()
        result = function(path)
        best = min(best, time.perf_counter() - started)
    return size / best / 1e6, result


CHILD = """
import resource, sys
sys.path.insert(0, {root!r})
from integrations.ipfs.importer import Importer, ImportParams
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cid = Importer(ImportParams.kubo({version})).add_file({path!r}).cid_str
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(cid, before, after)
"""


def peak_memory_mb(path: Path, version: int) -> tuple[float, float]:
    """(interpreter RSS after imports, peak RSS growth while importing), in MB, from a fresh child process."""
    code = CHILD.format(root=str(ROOT), version=version, path=str(path))
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    before, after = int(output[1]) / 1024, int(output[2]) / 1024
    return before, after - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * 1_000_000
    folder = Path(tempfile.mkdtemp(prefix="bench-cid-"))
    try:
        path = folder / "input.bin"
        with open(path, "wb") as handle:
            block = os.urandom(1 << 20)
            for offset in range(0, size, len(block)):
                handle.write(block[: min(len(block), size - offset)])
        sha256_streamed(path)  # warm the page cache
        print(f"input: {size / 1e6:.0f} MB, best of {args.runs} runs each")
        sha_rate, _ = best_rate(sha256_streamed, path, size, args.runs)
        v0_rate, v0 = best_rate(lambda p: importer_cid(p, 0), path, size, args.runs)
        v1_rate, v1 = best_rate(lambda p: importer_cid(p, 1), path, size, args.runs)
        print(f"  hashlib.sha256 streamed (256 KiB reads)  {sha_rate:8.0f} MB/s   (the limit)")
        print(f"  importer CIDv0 {v0}  {v0_rate:8.0f} MB/s   {v0_rate / sha_rate:6.1%} of sha256")
        print(f"  importer CIDv1 {v1[:20]}…  {v1_rate:8.0f} MB/s   {v1_rate / sha_rate:6.1%} of sha256")
        if shutil.which("ipfs_cid"):
            cli_rate, cli = best_rate(ipfs_cid_cli, path, min(size, size), max(1, args.runs - 1))
            print(f"  ipfs_cid CLI   {cli}  {cli_rate:8.0f} MB/s   importer is {v0_rate / cli_rate:4.1f}x ipfs_cid"
                  f"   (same CID: {cli == v0})")
        else:
            print("  ipfs_cid not installed (apt-get install ipfs-cid): no CLI comparison")
        interpreter, growth = peak_memory_mb(path, 0)
        print(f"  peak RSS of a child importing {size / 1e6:.0f} MB: {interpreter + growth:.1f} MB; the interpreter "
              f"with the importer loaded peaked at {interpreter:.1f} MB before it, so +{growth:.1f} MB (target < 64 MB)")
        target = v0_rate / sha_rate >= 0.8
        print(f"target >= 80% of sha256: {'met' if target else 'NOT met'} ({v0_rate / sha_rate:.1%})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
