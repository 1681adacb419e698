"""`manage.py demo`: walk through the whole platform on the parts `make run` started.

    manage.py demo            # with `make run` up in another terminal: the work runs on its workers
    manage.py demo --sync     # run the queued work (transcodes, pins, emails) in this process instead
"""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import ServiceError
from demo import services
from media_pipeline.access import PaymentRequired
from media_pipeline.models import Video
from payments.selectors import stream_is_active

BAR_WIDTH = 30
STEPS = 9


class Command(BaseCommand):
    help = ("A guided tour on the running platform: a creator uploads a paid video, a viewer is refused, opens a "
            "payment stream on the local chain, and can watch; ends with the URLs to open.")

    def add_arguments(self, parser):
        parser.add_argument("--sync", action="store_true",
                            help="run transcodes, pins and emails in this process (no worker needed)")
        parser.add_argument("--fresh", action="store_true", help="upload new videos even if an earlier run's are ready")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for each step (default 600)")
        parser.add_argument("--pickup-timeout", type=float, default=60,
                            help="seconds to wait for a worker to start queued work (default 60)")

    def handle(self, *args, sync, fresh, timeout, pickup_timeout, **options):
        self.step_number = 0
        try:
            with services.quiet_logs(), services.tasks_inline() if sync else contextlib.nullcontext():
                self.tour(inline=sync, fresh=fresh, timeout=timeout, pickup_timeout=pickup_timeout)
        except ServiceError as error:
            self.stdout.write("")
            raise CommandError(error.message) from None

    def tour(self, *, inline, fresh, timeout, pickup_timeout):
        started = timezone.now()
        self.step("Checking the parts")
        for line in services.demo_parts_check():
            self.say(line)
        if not inline:
            self.say("work runs on the django-q2 workers of `make run` (use --sync to run it here)")

        self.step("A creator and a viewer, with wallets from anvil's dev accounts")
        creator, viewer = services.demo_users_ensure()
        for role, person in (("creator", creator), ("viewer", viewer)):
            login = f"password {person.password} (shown once)" if person.password else "existing account"
            self.say(f"{role:<8} {person.user.email}  wallet {person.address}  {login}")

        terms = services.demo_film_terms()
        self.step("Sample clips from ffmpeg's test sources, uploaded by the creator")
        trailer, uploaded = services.demo_video_ensure(
            owner=creator.user, title=services.TRAILER_TITLE, visibility=Video.Visibility.PUBLIC,
            seconds=services.TRAILER_SECONDS, tone_hz=440, fresh=fresh)
        self.say(f"video {trailer.pk} “{trailer.title}”: public, pinned on IPFS"
                 + ("" if uploaded else " (ready from an earlier run; --fresh uploads again)"))
        film, uploaded = services.demo_video_ensure(
            owner=creator.user, title=services.FILM_TITLE, visibility=Video.Visibility.PAID,
            seconds=services.FILM_SECONDS, tone_hz=660, fresh=fresh, price=terms.price, stream_rate=terms.stream_rate)
        self.say(f"video {film.pk} “{film.title}”: paid, {terms.tokens(terms.price)} or a stream of "
                 f"{terms.tokens(terms.stream_rate)}/s (paid videos stay off IPFS: a CID is readable by anyone)"
                 + ("" if uploaded else " (ready from an earlier run)"))

        self.step("Transcoding to HLS")
        for video in (trailer, film):
            services.demo_transcode_follow(video=video, inline=inline, timeout=timeout, pickup_timeout=pickup_timeout,
                                           on_progress=self.bar(f"video {video.pk}"))
            self.stdout.write("")
            self.say(f"video {video.pk}: ready, {video.renditions.count()} rendition(s) "
                     f"({', '.join(video.renditions.values_list('name', flat=True))})")

        self.step("Pinning the trailer on IPFS")
        records = services.demo_pins_follow(video=trailer, timeout=timeout, pickup_timeout=pickup_timeout,
                                            on_progress=self.bar("IPFS pins"))
        self.stdout.write("")
        for record in records:
            self.say(f"{record.get_role_display():<18} {record.cid}  {record.size} bytes")
        trailer_hls = next((r for r in records if r.role == r.Role.VIDEO_HLS), None)

        self.step("The viewer asks to play the paid film")
        cancelled = services.demo_streams_cancel_earlier(viewer=viewer, creator=creator)
        if cancelled:
            self.say(f"cancelled stream(s) {', '.join(map(str, cancelled))} left running by an earlier run")
        services.demo_chain_index(on_pass=self.indexed, timeout=timeout,
                                  until=lambda: all(services.demo_stream_row(stream_id=i).cancelled for i in cancelled))
        if services.demo_playback_check(video=film, viewer=viewer.user) is None:
            self.say(self.style.WARNING("refused: paid video, and no payment or stream from the viewer yet "
                                        f"(the API answers 403 {PaymentRequired.code})"))
        else:
            self.say("already playable for the viewer (an earlier payment to the creator)")

        self.step("The viewer opens a payment stream to the creator on the local chain")
        opened = services.demo_stream_open(viewer=viewer, creator=creator, terms=terms, seconds=services.STREAM_SECONDS)
        if opened.minted:
            self.say(f"minted {terms.tokens(opened.minted)} to the viewer")
        self.say(f"stream #{opened.stream_id}: {terms.tokens(opened.deposit)} over "
                 f"{services.STREAM_SECONDS} s, tx {opened.tx_hash} in block {opened.block_number}")

        self.step("Indexing the chain")
        services.demo_chain_index(on_pass=self.indexed, timeout=timeout, until=lambda: bool(
            (row := services.demo_stream_row(stream_id=opened.stream_id)) and row.creation_confirmed))
        stream = services.demo_stream_row(stream_id=opened.stream_id)
        waited = services.demo_stream_wait_start(stream)
        self.say(f"stream #{stream.stream_id} mirrored and confirmed"
                 + (f"; waited {waited:.0f} s for its start time" if waited else "")
                 + f"; active: {stream_is_active(stream)}")
        url = services.demo_playback_check(video=film, viewer=viewer.user)
        if url is None:
            raise CommandError("The stream is indexed but the film is still refused; see `manage.py chain status`.")
        self.say(self.style.SUCCESS("the paid film now plays for the viewer"))
        self.say(f"signed master playlist (bound to the viewer): {url}")

        self.step("Emails that arrived")
        delivered = services.demo_emails_follow(recipients=[creator.user.email, viewer.user.email], since=started,
                                                timeout=timeout)
        for item in delivered:
            where = f"  → {item.sink_file.name}" if item.sink_file else ""
            self.say(f"{item.email.status:<6} {item.email.recipient:<32} {item.email.subject}{where}")
        if not delivered:
            self.say("no new emails (the accounts and videos come from an earlier run)")

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Done. Open:"))
        for label, address in services.demo_urls(film=film, trailer=trailer, trailer_hls=trailer_hls, stream=stream):
            self.stdout.write(f"  {label:<36} {address}")
        self.stdout.write(f"  (admin sign-in: the superuser `make run` created; `manage.py mailbox` lists the sink from "
                          f"the shell; chain {settings.CHAIN_ID} at {settings.RPC_URL})")

    # -- output -------------------------------------------------------------------------------------------

    def step(self, title: str) -> None:
        self.step_number += 1
        self.stdout.write(self.style.MIGRATE_HEADING(f"\n[{self.step_number}/{STEPS}] {title}"))

    def say(self, text: str) -> None:
        self.stdout.write(f"  {text}")

    def bar(self, label: str):
        def draw(percent: float, detail: str) -> None:
            filled = int(BAR_WIDTH * min(percent, 100) / 100)
            self.stdout.write(f"\r  {label:<10} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:5.1f}%  {detail:<60}",
                              ending="")
            self.stdout.flush()

        return draw

    def indexed(self, result) -> None:
        if result.ranges:
            self.say(f"indexer: blocks {result.from_block}..{result.to_block} (head {result.head}): "
                     f"{result.events} events, {result.confirmed} confirmed")
