"""The guided tour behind `manage.py demo`: each step calls the apps' own services.

The tour runs on the parts `make run` starts (web, django-q2 clusters, anvil with our
contracts, the SMTP sink, the embedded IPFS node). Its creator and viewer sign with
anvil's well-known dev keys (the "test test ... junk" mnemonic): anyone can spend from
those on a public network, so the tour refuses any chain but a local dev chain.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files import File
from django.urls import resolve, reverse
from django.utils import timezone
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.logs import DISCARD

from accounts import services as account_services
from core import health
from core.errors import NotFound, ServiceError
from integrations.blockchain.deploy import has_code, send_transaction
from integrations.blockchain.devkeys import ANVIL_DEV_KEYS, DEV_CHAIN_IDS
from integrations.mail_sink import read_mailbox
from media_pipeline import playback
from media_pipeline import services as media_services
from media_pipeline.access import PaymentRequired
from media_pipeline.models import TranscodeJob, Video
from notifications.models import OutboundEmail
from payments import indexer as payment_indexer
from payments import selectors as payment_selectors
from payments import services as payment_services
from payments import tokens as payment_tokens
from payments.models import PaymentStream
from pinning import services as ipfs_services
from pinning.models import IPFSRecord

CREATOR_EMAIL = "demo-creator@flowcast.localhost"
VIEWER_EMAIL = "demo-viewer@flowcast.localhost"
# anvil's dev accounts #1 and #2 (#0 deploys the contracts and mints: CHAIN_DEPLOYER_KEY).
CREATOR_KEY = ANVIL_DEV_KEYS[1]
VIEWER_KEY = ANVIL_DEV_KEYS[2]

TRAILER_TITLE = "Flowcast demo: trailer"
FILM_TITLE = "Flowcast demo: the film"
CLIP_SIZE = "854x480"  # two rungs of the default ladder (480p and 360p)
TRAILER_SECONDS = 4
FILM_SECONDS = 8
# In whole tokens (scaled by the token's decimals): the film costs 5 tokens or 0.001 token/s.
FILM_PRICE_TOKENS = 5
FILM_STREAM_RATE_MILLITOKENS = 1
STREAM_SECONDS = 3600
MINT_TOKENS = 100
# The stream starts this long after the latest block, so it is mined before its start time.
STREAM_START_LEAD_SECONDS = 3
# Fixed gas: estimating a createStream would run against a block time before the start we chose.
GAS = 500_000
POLL_SECONDS = 0.5


class DemoError(ServiceError):
    """A part the tour needs is missing, or a step failed; the message says what to do."""

    code = "demo_failed"


Progress = Callable[[float, str], None]


# -- parts -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def tasks_inline() -> Iterator[None]:
    """`--sync`: every django-q2 task runs in this process when queued, so no worker is needed and
    nothing is left on the broker; transcodes get a job row only, and the tour runs them itself."""
    from django_q.conf import Conf

    previous = Conf.SYNC
    Conf.SYNC = True
    try:
        with media_services.transcode_inline():
            yield
    finally:
        Conf.SYNC = previous


@contextlib.contextmanager
def quiet_logs(names=("django-q", "httpx", "notifications", "pinning", "media_pipeline")) -> Iterator[None]:
    """Per-request and per-task INFO lines (inline tasks, health checks) would bury the tour's own output."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


START_HINT = "Start the platform with `make run` in another terminal"
# The health check's parts, as the tour names them, and how to bring each one up.
PART_HINTS = {
    "database": ("database", "Check DATABASE_URL and run `manage.py migrate`."),
    "queue": ("queue", "Check REDIS_URL (or unset it for the database broker)."),
    "ffmpeg": ("ffmpeg", "Run `make bootstrap` (it installs ffmpeg from requirements.txt) or set FFMPEG_BINARY."),
    "ffprobe": ("ffprobe", "Run `make bootstrap` (it installs ffprobe from requirements.txt) or set FFPROBE_BINARY."),
    "chain": ("chain", f"{START_HINT} (it starts anvil and deploys the contracts), or set RPC_URL to a dev chain."),
    "smtp": ("SMTP", f"{START_HINT} (it starts the SMTP sink), or run `manage.py smtp_sink`."),
    "ipfs": ("IPFS", "Check IPFS_BACKEND and its settings."),
}


def demo_parts_check() -> list[str]:
    """Check every part the tour uses; raise DemoError for the first one missing, saying how to start it."""
    if settings.CHAIN_ID not in DEV_CHAIN_IDS:
        raise DemoError(f"CHAIN_ID is {settings.CHAIN_ID}: the demo signs with anvil's public dev keys and runs on a "
                        f"local dev chain only (31337, as `make run` starts).")
    parts = health.platform_health()
    lines = []
    for key, (name, hint) in PART_HINTS.items():
        if not parts[key].ok:
            raise DemoError(f"The {name} is not available: {parts[key].detail}. {hint}")
        lines.append(f"{name}: {parts[key].detail}")
    try:
        service = payment_selectors.blockchain_data_service()
    except NotFound:
        raise DemoError(f"No contracts are deployed on chain {settings.CHAIN_ID}: run `make run` (it deploys them) "
                        "or `manage.py chain deploy`.") from None
    if not (has_code(service.w3, service.token.address) and has_code(service.w3, service.streams.address)):
        raise DemoError(f"The contracts recorded for chain {settings.CHAIN_ID} have no code at {settings.RPC_URL} "
                        "(a new chain?): run `manage.py chain deploy`.")
    lines.append(f"contracts: token {service.token.address}, streams {service.streams.address}")
    return lines


# -- people ------------------------------------------------------------------------------------------


@dataclass
class DemoUser:
    user: object
    private_key: str
    password: str | None  # set only when this run created the account (shown once)

    @property
    def address(self) -> str:
        return self.user.wallet_address


def demo_users_ensure() -> tuple[DemoUser, DemoUser]:
    """The demo's creator and viewer, created on the first run and reused after, with their dev wallets linked."""
    users = []
    for email, name, key in ((CREATOR_EMAIL, "Demo Creator", CREATOR_KEY), (VIEWER_EMAIL, "Demo Viewer", VIEWER_KEY)):
        user = get_user_model().objects.filter(email__iexact=email).first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = get_user_model().objects.create_user(email=email, password=password, display_name=name)
        user = account_services.wallet_link(user=user, address=Account.from_key(key).address)
        users.append(DemoUser(user=user, private_key=key, password=password))
    return users[0], users[1]


# -- videos ------------------------------------------------------------------------------------------


def demo_clip_generate(*, folder: Path, name: str, seconds: int, tone_hz: int) -> Path:
    """A sample clip from ffmpeg's test sources (moving pattern + tone), H.264/AAC in mp4."""
    path = folder / name
    command = [
        settings.FFMPEG_BINARY, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={CLIP_SIZE}:rate=30",
        "-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not path.is_file():
        raise DemoError(f"ffmpeg could not generate the sample clip: {result.stderr.strip()[-500:]}")
    return path


def demo_video_ensure(*, owner, title: str, visibility: str, seconds: int, tone_hz: int, fresh: bool = False,
                      price: int | None = None, stream_rate: int | None = None) -> tuple[Video, bool]:
    """The ready video `title` of an earlier run, or a new upload of a generated clip. Returns (video, uploaded)."""
    if not fresh:
        earlier = (Video.objects.filter(owner=owner, title=title, visibility=visibility, status=Video.Status.READY,
                                        price=price, stream_rate=stream_rate)
                   .exclude(hls_path="").order_by("-pk").first())
        if earlier and (Path(settings.MEDIA_ROOT) / earlier.hls_path / "master.m3u8").is_file():
            return earlier, False
    with tempfile.TemporaryDirectory(prefix="flowcast-demo-") as folder:
        clip = demo_clip_generate(folder=Path(folder), name=f"{title.split(': ')[-1].replace(' ', '-')}.mp4",
                                  seconds=seconds, tone_hz=tone_hz)
        with clip.open("rb") as handle:
            video = media_services.video_upload(owner=owner, upload=File(handle, name=clip.name), title=title,
                                                visibility=visibility, price=price, stream_rate=stream_rate)
    return video, True


def demo_transcode_follow(*, video: Video, inline: bool, on_progress: Progress, timeout: float,
                          pickup_timeout: float) -> Video:
    """Run (inline) or watch (worker) the video's latest transcode until it ends; the video must end ready."""
    job = TranscodeJob.objects.filter(video=video).order_by("-pk").first()
    if job is None:
        raise DemoError(f"“{video.title}” has no transcode job.")
    if inline and job.state == TranscodeJob.State.QUEUED:
        media_services.transcode_run(job_id=job.pk, on_progress=lambda percent, speed: on_progress(percent, "running"))
    started = time.monotonic()
    while True:
        job.refresh_from_db()
        on_progress(job.progress, job.state)
        if not job.is_active:
            break
        waited = time.monotonic() - started
        if job.state == TranscodeJob.State.QUEUED and waited > pickup_timeout:
            raise DemoError(f"No worker took transcode job {job.pk} in {pickup_timeout:.0f} s. Is `make run` running "
                            f"(its worker-long process runs the {settings.TRANSCODE_CLUSTER} cluster)? "
                            "Or run `manage.py demo --sync` to do the work in this process.")
        if waited > timeout:
            raise DemoError(f"Transcode job {job.pk} did not finish in {timeout:.0f} s (at {job.progress:.0f} %).")
        time.sleep(POLL_SECONDS)
    video.refresh_from_db()
    if video.status != Video.Status.READY:
        raise DemoError(f"The transcode of “{video.title}” ended {job.state}: {video.error_message or job.error}")
    return video


def _video_records(video: Video):
    content_type = ContentType.objects.get_for_model(Video)
    return (IPFSRecord.objects.filter(content_type=content_type, object_id=video.pk)
            .exclude(status__in=[IPFSRecord.Status.UNPINNING, IPFSRecord.Status.UNPINNED]).order_by("pk"))


def demo_pins_follow(*, video: Video, on_progress: Progress, timeout: float, pickup_timeout: float) -> list[IPFSRecord]:
    """Wait until every IPFS record of the video (HLS folder, thumbnail, metadata) is pinned."""
    if not _video_records(video).exists():
        # e.g. an earlier run's video, made while IPFS_PIN_VISIBILITIES excluded it
        if not ipfs_services.ipfs_video_records_queue(video=video):
            raise DemoError(f"“{video.title}” is {video.visibility}, which IPFS_PIN_VISIBILITIES "
                            f"({', '.join(settings.IPFS_PIN_VISIBILITIES)}) does not pin.")
    started = time.monotonic()
    while True:
        records = list(_video_records(video))
        pinned = sum(record.status == IPFSRecord.Status.PINNED for record in records)
        on_progress(100 * pinned / len(records),
                    ", ".join(f"{record.get_role_display().removeprefix('Video ')} {record.status}" for record in records))
        failed = [record for record in records if record.status == IPFSRecord.Status.FAILED]
        if failed:
            raise DemoError(f"Pinning {failed[0].name} failed: {failed[0].last_error} "
                            "(retry it in the admin: IPFS records → “Retry the selected failed pins”).")
        if pinned == len(records):
            return records
        waited = time.monotonic() - started
        if waited > pickup_timeout and all(record.status == IPFSRecord.Status.QUEUED and record.attempts == 0
                                           for record in records):
            raise DemoError(f"No worker took the IPFS pins in {pickup_timeout:.0f} s. Is `make run` running "
                            "(its worker process runs the default cluster)? Or run `manage.py demo --sync`.")
        if waited > timeout:
            raise DemoError(f"The IPFS pins were not done in {timeout:.0f} s: "
                            + "; ".join(f"{r.name}: {r.status} {r.last_error}".strip() for r in records))
        time.sleep(POLL_SECONDS)


def demo_playback_check(*, video: Video, viewer) -> str | None:
    """Whether `viewer` may play the video, asked through the links the playback API hands out (the one
    access rule, media_pipeline.access); None when refused for want of payment. When allowed, the signed
    master playlist URL issued to them (checked to open their file)."""
    try:
        master_url = playback.playback_links(video=video, viewer=viewer).master_url
    except PaymentRequired:
        return None
    link = resolve(master_url).kwargs
    playback.playback_file(video_id=link["video_id"], token=link["token"], path=link["path"],
                           requester=lambda: viewer)
    return settings.SITE_URL + master_url


# -- chain -------------------------------------------------------------------------------------------


@dataclass
class OpenedStream:
    stream_id: int
    tx_hash: str
    block_number: int
    deposit: int
    rate_per_second: int
    start_time: int
    stop_time: int
    minted: int


def _chain_call(what: str, action: Callable[[], object]):
    """Run one chain call; a revert or an unreachable node becomes a readable DemoError."""
    try:
        return action()
    except (ContractLogicError, Web3RPCError, RuntimeError, ValueError, OSError) as error:
        raise DemoError(f"{what} failed on the chain at {settings.RPC_URL}: {error}") from None


@dataclass(frozen=True)
class FilmTerms:
    price: int  # base units
    stream_rate: int  # base units per second
    decimals: int
    symbol: str

    def tokens(self, amount: int) -> str:
        return payment_tokens.token_amount_format(
            amount=amount, meta=payment_tokens.TokenMeta(decimals=self.decimals, symbol=self.symbol))


def demo_film_terms() -> FilmTerms:
    """What the paid film costs, in the deployed token's units."""
    meta = payment_tokens.token_meta_get(token_address=payment_selectors.deployment_get().token_address)
    if meta.decimals is None:
        raise DemoError(f"The token's decimals could not be read from {settings.RPC_URL}: is the chain still up?")
    return FilmTerms(price=FILM_PRICE_TOKENS * 10**meta.decimals,
                     stream_rate=FILM_STREAM_RATE_MILLITOKENS * 10 ** (meta.decimals - 3),
                     decimals=meta.decimals, symbol=meta.symbol)


def demo_streams_cancel_earlier(*, viewer: DemoUser, creator: DemoUser) -> list[int]:
    """Cancel the streams earlier runs left running from the viewer to the creator, so the film is refused again."""
    service = payment_selectors.blockchain_data_service()
    deployment = payment_selectors.deployment_get()
    running = PaymentStream.objects.filter(
        chain_id=deployment.chain_id, contract_address=deployment.stream_address, sender=viewer.address,
        recipient=creator.address, cancelled=False, stop_time__gt=timezone.now(),
    )
    cancelled = []
    for stream in running:
        on_chain = _chain_call(f"Reading stream {stream.stream_id}", lambda: service.stream(stream.stream_id))
        if on_chain.cancelled or on_chain.status == "ended":
            continue
        tx = service.streams.functions.cancelStream(stream.stream_id).build_transaction(
            {"from": Web3.to_checksum_address(viewer.address), "gas": GAS})
        _chain_call(f"Cancelling stream {stream.stream_id}",
                   lambda: send_transaction(service.w3, private_key=viewer.private_key, tx=tx))
        cancelled.append(stream.stream_id)
    return cancelled


def demo_stream_open(*, viewer: DemoUser, creator: DemoUser, terms: FilmTerms, seconds: int) -> OpenedStream:
    """Open a stream from the viewer to the creator (minting the viewer tokens first when short), signed with
    their dev keys: mint → approve → createStream."""
    service = payment_selectors.blockchain_data_service()
    w3 = service.w3
    sender = Web3.to_checksum_address(viewer.address)
    if _chain_call("Reading the viewer's balance", lambda: service.native_balance(sender)) == 0:
        raise DemoError(f"The viewer's dev account {sender} has no ether for gas on this chain: the demo needs "
                        "anvil's funded dev accounts (`make run`).")
    rate_per_second = terms.stream_rate
    deposit = rate_per_second * seconds
    minted = 0
    if _chain_call("Reading the viewer's tokens", lambda: service.token_balance(sender)) < deposit:
        minted = max(deposit, MINT_TOKENS * 10**terms.decimals)
        demo_tokens_mint(to=sender, amount=minted)
    approve = service.token.functions.approve(service.streams.address, deposit).build_transaction({"from": sender, "gas": GAS})
    _chain_call("Approving the deposit", lambda: send_transaction(w3, private_key=viewer.private_key, tx=approve))
    latest = _chain_call("Reading the latest block", lambda: w3.eth.get_block("latest")["timestamp"])
    start = max(latest, int(time.time())) + STREAM_START_LEAD_SECONDS
    create = service.streams.functions.createStream(
        Web3.to_checksum_address(creator.address), deposit, service.token.address, start, start + seconds,
    ).build_transaction({"from": sender, "gas": GAS})
    receipt = _chain_call("Creating the stream", lambda: send_transaction(w3, private_key=viewer.private_key, tx=create))
    events = [event for event in service.streams.events.CreateStream().process_receipt(receipt, errors=DISCARD)
              if event["address"].lower() == service.streams.address.lower()]
    if not events:
        raise DemoError(f"Transaction {receipt['transactionHash'].to_0x_hex()} created no stream.")
    return OpenedStream(
        stream_id=events[0]["args"]["streamId"], tx_hash=receipt["transactionHash"].to_0x_hex(),
        block_number=receipt["blockNumber"], deposit=deposit, rate_per_second=rate_per_second, start_time=start,
        stop_time=start + seconds, minted=minted,
    )


def demo_tokens_mint(*, to: str, amount: int) -> None:
    """Mint demo tokens with the deployer's key (the token's owner)."""
    try:
        payment_services.token_mint(to_address=to, amount=amount)
    except ServiceError as error:
        raise DemoError(f"Minting the viewer's tokens: {error.message}") from None


def demo_chain_index(*, until: Callable[[], bool], timeout: float,
                     on_pass: Callable[[payment_indexer.SyncResult], None]) -> None:
    """Run indexer passes until `until()` holds. On anvil, mines the CHAIN_CONFIRMATIONS blocks a new
    row waits for (nothing else mines there); on another dev chain, waits for them."""
    service = payment_selectors.blockchain_data_service()
    is_anvil = "anvil" in _chain_call("Reading the node's version", lambda: service.w3.client_version).lower()
    deadline = time.monotonic() + timeout
    while True:
        result = payment_indexer.chain_sync()
        if result.error:
            raise DemoError(f"The indexer stopped at block {result.to_block}: {result.error}")
        on_pass(result)
        if until():
            return
        if time.monotonic() > deadline:
            raise DemoError(f"The indexer did not see the stream confirmed in {timeout:.0f} s "
                            f"(CHAIN_CONFIRMATIONS={settings.CHAIN_CONFIRMATIONS}; see `manage.py chain status`).")
        if is_anvil and not result.busy and settings.CHAIN_CONFIRMATIONS:
            _chain_call("Mining blocks", lambda: service.w3.provider.make_request(
                "anvil_mine", [hex(settings.CHAIN_CONFIRMATIONS)]))
        time.sleep(POLL_SECONDS)


def demo_stream_row(*, stream_id: int) -> PaymentStream | None:
    deployment = payment_selectors.deployment_get()
    return PaymentStream.objects.filter(chain_id=deployment.chain_id, contract_address=deployment.stream_address,
                                        stream_id=stream_id).first()


def demo_stream_wait_start(stream: PaymentStream, *, timeout: float = 120) -> float:
    """Sleep until the stream's start time has passed here (paid access counts running streams only)."""
    wait = (stream.start_time - timezone.now()).total_seconds()
    if wait > timeout:
        raise DemoError(f"Stream {stream.stream_id} starts in {wait:.0f} s: the chain's clock runs ahead of this "
                        "machine's (evm_increaseTime?). Restart anvil (`make clean-data`, then `make run`).")
    if wait > 0:
        time.sleep(wait + 0.2)
    return max(wait, 0)


# -- email -------------------------------------------------------------------------------------------


@dataclass
class DeliveredEmail:
    email: OutboundEmail
    sink_file: Path | None  # the .eml the local SMTP sink wrote, when it writes to MAIL_SINK_DIR


def demo_emails_follow(*, recipients: list[str], since: datetime, timeout: float) -> list[DeliveredEmail]:
    """The outbox rows queued for `recipients` since `since`, once each is sent (or failed)."""
    emails = OutboundEmail.objects.filter(recipient__in=recipients, created_at__gte=since).order_by("created_at", "pk")
    deadline = time.monotonic() + timeout
    unfinished = [OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING]
    while emails.filter(status__in=unfinished).exists():
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{e.template} to {e.recipient} ({e.status}{': ' + e.last_error if e.last_error else ''})"
                                for e in emails.filter(status__in=unfinished))
            raise DemoError(f"These emails were not sent in {timeout:.0f} s: {waiting}. Is the worker running "
                            "(`make run`) and the SMTP sink up? `manage.py email status` tells more.")
        time.sleep(POLL_SECONDS)
    by_message_id = {}
    for path, message in read_mailbox(settings.MAIL_SINK_DIR):
        by_message_id.setdefault((message["Message-ID"] or "").strip("<> "), path)
    return [DeliveredEmail(email=email, sink_file=by_message_id.get(email.message_id.strip("<> ")))
            for email in emails]


# -- where to look -----------------------------------------------------------------------------------


def demo_urls(*, film: Video, trailer: Video, trailer_hls: IPFSRecord | None, stream: PaymentStream) -> list[tuple[str, str]]:
    site = settings.SITE_URL
    urls = [
        ("the paid film (sign in as the viewer)", f"{site}/watch/{film.pk}"),
        ("the trailer", f"{site}/watch/{trailer.pk}"),
        ("admin", f"{site}{reverse('admin:index')}"),
        ("the film in the admin", f"{site}{reverse('admin:media_pipeline_video_change', args=[film.pk])}"),
        ("the stream in the admin", f"{site}{reverse('admin:payments_paymentstream_change', args=[stream.pk])}"),
        ("API docs", f"{site}/api/docs"),
    ]
    if trailer_hls is not None and trailer_hls.cid:
        urls.append(("trailer's HLS folder on IPFS", trailer_hls.gateway_url))
        urls.append(("trailer's master playlist on IPFS", trailer_hls.gateway_url.rstrip("/") + "/master.m3u8"))
    urls.append(("mailbox (SMTP sink)", f"{site}{reverse('admin:notifications_mailbox')}"))
    return urls
