"""CID of a 200 MB file: our UnixFS importer vs single-stream hashlib.sha256 over the same bytes and vs `ipfs_cid`.

    .venv/bin/python bench/cid.py [--size-mb 200] [--runs 3] [--threads N] [--quick]

Every method reads the same file (warm in the page cache); sha256 streams it in
256 KiB reads into one digest, the importer hashes its leaves on `--threads`
threads (default: the importer's, min(4, CPUs)). Runs are interleaved (sha256,
then each importer, per round) so they share the machine's load, and the best
of `--runs` is kept for each. Target: the importer (CIDv0 and CIDv1) at
>= 1.35x the single-stream sha256 rate, and flat memory (< 64 MB above the
interpreter for any size): peak RSS is measured in a fresh child process.
`--quick` is 20 MB, one run (for `make bench`).
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from integrations.ipfs.importer import Importer, ImportParams, default_hash_threads  # noqa: E402

CHUNK = 262_144
TARGET_RATIO = 1.35
MEMORY_TARGET_MB = 64


def sha256_streamed(path: Path) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
    return digest.hexdigest()


def sha256_in_memory_threads(size: int, threads: int) -> tuple[float, float]:
    """(wall s, CPU s) of hashing `size` bytes in 256 KiB chunks from memory on `threads` threads: the ceiling
    the machine offers right now (on an idle 2-core machine CPU/wall is near 2; another busy process lowers it).
    An 8 MiB buffer is hashed over and over: the parent must not grow, a child's peak RSS would inherit it."""
    data = memoryview(os.urandom(8 << 20))
    chunks = size // CHUNK

    def work(first: int) -> None:
        for index in range(first, chunks, threads):
            offset = index * CHUNK % len(data)
            hashlib.sha256(data[offset : offset + CHUNK]).digest()

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    cpu, started = time.process_time(), time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, time.process_time() - cpu


def chunks_bytes(size: int) -> int:
    return size // CHUNK * CHUNK


def importer_cid(path: Path, version: int, threads: int) -> str:
    return Importer(ImportParams.kubo(version), hash_threads=threads).add_file(path).cid_str


def ipfs_cid_cli(path: Path) -> str:
    output = subprocess.run(["ipfs_cid", str(path)], check=True, capture_output=True, text=True).stdout
    return json.loads(output[: output.index("}") + 1])["CIDv0"]


def best_rates(functions: dict, path: Path, size: int, runs: int) -> dict[str, tuple[float, str]]:
    """{name: (best MB/s, result)}, the functions taking turns in every round."""
    best = {name: float("inf") for name in functions}
    results = {}
    for _ in range(runs):
        for name, function in functions.items():
            started = time.perf_counter()
            results[name] = function(path)
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: (size / best[name] / 1e6, results[name]) for name in functions}


# VmRSS before, VmHWM (this process's own peak) after: ru_maxrss would start from the parent's peak,
# which a vfork'ed child inherits.
CHILD = """
import sys
sys.path.insert(0, {root!r})
from integrations.ipfs.importer import Importer, ImportParams
def status_kb(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))
before = status_kb("VmRSS")
cid = Importer(ImportParams.kubo({version}), hash_threads={threads}).add_file({path!r}).cid_str
after = status_kb("VmHWM")
print(cid, before, after)
"""


def peak_memory_mb(path: Path, version: int, threads: int) -> tuple[float, float]:
    """(interpreter RSS after imports, peak RSS above it while importing), in MB, from a fresh child process."""
    code = CHILD.format(root=str(ROOT), version=version, path=str(path), threads=threads)
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    before, after = int(output[1]) / 1024, int(output[2]) / 1024
    return before, after - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the file (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="rounds; the best of each method is kept (default 3)")
    parser.add_argument("--threads", type=int, default=default_hash_threads(),
                        help="threads hashing leaves (default min(4, CPUs) = %(default)s; 1 = serial)")
    parser.add_argument("--quick", action="store_true", help="20 MB, one run (for make bench)")
    args = parser.parse_args()
    if args.quick:
        args.size_mb, args.runs = 20, 1
    size = args.size_mb * 1_000_000
    folder = Path(tempfile.mkdtemp(prefix="bench-cid-"))
    try:
        path = folder / "input.bin"
        with open(path, "wb") as handle:
            block = os.urandom(1 << 20)
            for offset in range(0, size, len(block)):
                handle.write(block[: min(len(block), size - offset)])
        sha256_streamed(path)  # warm the page cache
        print(f"input: {size / 1e6:.0f} MB, best of {args.runs} interleaved runs each, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}, importer hashing on {args.threads} threads")
        rates = best_rates({
            "sha256": sha256_streamed,
            "v0": lambda p: importer_cid(p, 0, args.threads),
            "v1": lambda p: importer_cid(p, 1, args.threads),
            "v0 serial": lambda p: importer_cid(p, 0, 1),
        }, path, size, args.runs)
        sha_rate = rates["sha256"][0]
        (v0_rate, v0), (v1_rate, v1), (serial_rate, serial) = rates["v0"], rates["v1"], rates["v0 serial"]
        assert serial == v0, "the threaded import must give the serial CID"
        print(f"  hashlib.sha256 single stream (256 KiB reads)   {sha_rate:6.0f} MB/s   (the peer to beat)")
        ceilings = [sha256_in_memory_threads(size, args.threads) for _ in range(args.runs)]
        wall, cpu = min(ceilings)
        print(f"  ceiling now: bare hashlib on {args.threads} threads from memory {chunks_bytes(size) / wall / 1e6:6.0f} MB/s, "
              f"{cpu / wall:.2f} cores busy (other processes take the rest)")
        print(f"  importer CIDv0 {v0}  {v0_rate:6.0f} MB/s   {v0_rate / sha_rate:5.2f}x sha256")
        print(f"  importer CIDv1 {v1[:32]}…  {v1_rate:6.0f} MB/s   {v1_rate / sha_rate:5.2f}x sha256")
        print(f"  importer CIDv0 serial (1 thread, same CID)       {serial_rate:6.0f} MB/s   "
              f"{serial_rate / sha_rate:5.2f}x sha256")
        if shutil.which("ipfs_cid"):
            cli_rate, cli = best_rates({"cli": ipfs_cid_cli}, path, size, max(1, args.runs - 1))["cli"]
            print(f"  ipfs_cid CLI   {cli}  {cli_rate:6.0f} MB/s   importer is {v0_rate / cli_rate:4.1f}x ipfs_cid"
                  f"   (same CID: {cli == v0})")
        else:
            print("  ipfs_cid not installed (apt-get install ipfs-cid): no CLI comparison")
        growths = []
        for version in (0, 1):
            interpreter, growth = peak_memory_mb(path, version, args.threads)
            growths.append(growth)
            print(f"  peak RSS of a child importing {size / 1e6:.0f} MB as CIDv{version}: {interpreter + growth:.1f} MB; "
                  f"the interpreter with the importer loaded used {interpreter:.1f} MB before it, "
                  f"so +{growth:.1f} MB (target < {MEMORY_TARGET_MB} MB)")
        ratio = min(v0_rate, v1_rate) / sha_rate
        speed_met = ratio >= TARGET_RATIO
        memory_met = max(growths) < MEMORY_TARGET_MB
        print(f"figure: importer {min(v0_rate, v1_rate):.0f} MB/s (slower of CIDv0/CIDv1) | peer: sha256 single stream "
              f"{sha_rate:.0f} MB/s | ratio {ratio:.2f}x | target >= {TARGET_RATIO}x | "
              f"{'met' if speed_met else 'NOT met'}")
        print(f"figure: peak RSS growth +{max(growths):.1f} MB | target < {MEMORY_TARGET_MB} MB | "
              f"{'met' if memory_met else 'NOT met'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
