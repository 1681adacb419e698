"""`manage.py ipfs add|pin|unpin|ls|verify|gc|records`: operate the embedded IPFS node and the pin records."""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import ServiceError
from pinning import selectors, services
from integrations.ipfs.cid import InvalidCID, cid_parse, cid_to_str
from integrations.ipfs.importer import Importer, ImportParams
from integrations.ipfs.node import IPFSError, NotAFile
from pinning.models import IPFSRecord


class ProgressBar:
    """A one-line progress bar on a command's stderr (an OutputWrapper), redrawn at most ten times a second."""

    def __init__(self, stream, total: int, label: str, width: int = 30):
        self.stream, self.total, self.label, self.width = stream, max(total, 1), label, width
        self.done = 0
        self.started = time.monotonic()
        self.drawn_at = 0.0

    def __call__(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.drawn_at >= 0.1 or self.done >= self.total:
            self.drawn_at = now
            self.draw()

    def draw(self) -> None:
        fraction = min(self.done / self.total, 1.0)
        filled = int(fraction * self.width)
        rate = self.done / max(time.monotonic() - self.started, 1e-6) / 1e6
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:6.1%} "
                          f"{self.done / 1e6:,.1f}/{self.total / 1e6:,.1f} MB {rate:,.0f} MB/s", ending="")
        self.stream.flush()

    def finish(self) -> None:
        self.draw()
        self.stream.write("")


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


class Command(BaseCommand):
    help = ("Operate the embedded IPFS node: add a file or folder, pin/unpin, list a folder, verify stored blocks, "
            "collect garbage, and list or retry pin records.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a file or folder (recursively) and pin it")
        add.add_argument("path")
        add.add_argument("--cid-version", type=int, choices=[0, 1], default=None,
                         help="0 = Kubo's default, 1 = --cid-version=1 (raw leaves); default IPFS_CID_VERSION")
        add.add_argument("--wrap-with-directory", "-w", action="store_true")
        add.add_argument("--only-hash", "-n", action="store_true", help="compute the CID, store nothing")
        add.add_argument("--no-progress", action="store_true")
        pin = sub.add_parser("pin", help="pin a CID whose blocks are here, or act on a pin record")
        pin.add_argument("cid", nargs="?")
        pin.add_argument("--retry", type=int, metavar="RECORD_ID", help="retry a failed pin record")
        pin.add_argument("--record", type=int, metavar="RECORD_ID", help="run a queued pin record now")
        unpin = sub.add_parser("unpin", help="unpin a CID, or unpin a record on its backend")
        unpin.add_argument("cid", nargs="?")
        unpin.add_argument("--record", type=int, metavar="RECORD_ID")
        ls = sub.add_parser("ls", help="list a folder: CID[/path]")
        ls.add_argument("target")
        sub.add_parser("verify", help="re-hash every stored block and report corrupt ones")
        sub.add_parser("gc", help="delete blocks no pin reaches")
        records = sub.add_parser("records", help="list pin records")
        records.add_argument("--status", choices=[choice for choice, _ in IPFSRecord.Status.choices])
        records.add_argument("--limit", type=int, default=50)

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action}")(**options)
        except (IPFSError, InvalidCID, ServiceError, OSError, ValueError) as error:
            raise CommandError(getattr(error, "message", None) or str(error)) from error

    def _cid(self, text: str | None) -> bytes:
        if not text:
            raise CommandError("give a CID")
        return cid_parse(text.removeprefix("/ipfs/"))

    def do_add(self, *, path, cid_version, wrap_with_directory, only_hash, no_progress, **_):
        source = Path(path)
        if not source.exists():
            raise CommandError(f"{path}: no such file or folder")
        if source.is_dir() and wrap_with_directory:
            raise CommandError("--wrap-with-directory applies to a single file")
        params = ImportParams.kubo(services.ipfs_settings_cid_version() if cid_version is None else cid_version)
        total = tree_size(source)
        progress = None if no_progress or total < 4 * 1024 * 1024 else ProgressBar(self.stderr, total, source.name)
        node = services.ipfs_node()
        if only_hash:
            importer = Importer(params, progress=progress)
            added = importer.add_directory(source) if source.is_dir() else importer.add_file(source)
            if wrap_with_directory:
                added = importer.wrap(source.name, added)
        elif source.is_dir():
            added = node.add_directory(source, params=params, progress=progress)
        else:
            added = node.add_file(source, params=params, progress=progress, wrap=wrap_with_directory)
        if progress:
            progress.finish()
        self.stdout.write(f"added {added.cid_str} {source.name} ({added.size} bytes, {added.kind})"
                          + (" [only hash]" if only_hash else ", pinned"))
        self.stdout.write(f"import parameters: {json.dumps(params.as_dict(), sort_keys=True)}")

    def do_pin(self, *, cid, retry, record, **_):
        if retry is not None:
            result = services.ipfs_record_retry(record_id=retry)
            self.stdout.write(f"record {result.pk} queued again ({result.name})")
            return
        if record is not None:
            status = services.ipfs_record_pin(record_id=record)
            self.stdout.write(f"record {record}: {status}")
            return
        target = self._cid(cid)
        services.ipfs_node().pin(target)
        self.stdout.write(f"pinned {cid_to_str(target)} recursively")

    def do_unpin(self, *, cid, record, **_):
        if record is not None:
            result = services.ipfs_record_unpin_request(record_id=record)
            self.stdout.write(f"record {result.pk}: {result.status}")
            return
        target = self._cid(cid)
        if not services.ipfs_node().unpin(target):
            raise CommandError(f"{cid_to_str(target)} is not pinned")
        self.stdout.write(f"unpinned {cid_to_str(target)} (run `ipfs gc` to free its blocks)")

    def do_ls(self, *, target, **_):
        text = target.removeprefix("/ipfs/")
        root, _, rest = text.partition("/")
        node = services.ipfs_node()
        cid = node.resolve(self._cid(root), [part for part in rest.split("/") if part])
        try:
            entries = node.ls(cid)
        except NotAFile:
            stat = node.stat(cid)
            self.stdout.write(f"{stat.cid} {stat.size} {target} (a file)")
            return
        for entry in entries:
            self.stdout.write(f"{entry.cid} {entry.size:>12} {entry.name}{'/' if entry.type == 'directory' else ''}")

    def do_verify(self, **_):
        node = services.ipfs_node()
        count, _ = node.blocks.size()
        progress = ProgressBar(self.stderr, count, "verify") if count > 1000 else None
        report = node.verify(progress=progress)
        if progress:
            progress.finish()
        for key in report.corrupt:
            self.stdout.write(f"CORRUPT block {key} ({node.blocks.directory / key[-3:-1] / (key + '.data')})")
        if report.corrupt:
            raise CommandError(f"{len(report.corrupt)} of {report.checked} blocks are corrupt")
        self.stdout.write(f"verified {report.checked} blocks: all hash to their CIDs")

    def do_gc(self, **_):
        report = services.ipfs_node().gc()
        self.stdout.write(f"removed {report.removed} blocks ({report.freed_bytes} bytes); {report.kept} reachable from pins")

    def do_records(self, *, status, limit, **_):
        for record in selectors.ipfs_records(status=status)[:limit]:
            error = f"  error: {record.last_error[:120]}" if record.last_error else ""
            self.stdout.write(f"{record.pk:>6} {record.status:<9} {record.backend:<8} attempts={record.attempts} "
                              f"{record.cid or '-'} {record.name}{error}")


