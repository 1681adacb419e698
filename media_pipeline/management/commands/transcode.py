"""Transcode a video (by id) or a file (creating its video), with a progress bar.

    manage.py transcode 42                  # queue on the long cluster and follow its progress
    manage.py transcode clip.mp4 --owner me@example.com --sync   # run here, without the queue
"""

import contextlib
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from core.errors import ServiceError
from media_pipeline import selectors, services
from media_pipeline.models import TranscodeJob, Video

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Transcode a video by id, or a video file (creating the video), showing progress."

    def add_arguments(self, parser):
        parser.add_argument("target", help="a video id, or the path of a video file")
        parser.add_argument("--sync", action="store_true", help="run the transcode in this process, not on the queue")
        parser.add_argument("--owner", help="email of the owner of a video created from a file (default: first superuser)")
        parser.add_argument("--title", help="title of a video created from a file (default: the file name)")
        parser.add_argument("--visibility", default=Video.Visibility.PRIVATE, choices=Video.Visibility.values)
        parser.add_argument("--no-wait", action="store_true", help="queue and return without following progress")

    def handle(self, *args, target, sync, owner, title, visibility, no_wait, **options):
        try:
            with services.transcode_inline() if sync else contextlib.nullcontext():
                video, job = self.video_and_job(target, owner=owner, title=title, visibility=visibility)
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"video {video.pk} “{video.title}”: transcode job {job.pk}")
        if sync:
            job = services.transcode_run(job_id=job.pk, on_progress=self.draw)
            if job is None:
                raise CommandError("Another worker took this job; follow it without --sync.")
        elif no_wait:
            self.stdout.write(f"queued on the {settings.TRANSCODE_CLUSTER} cluster "
                              f"(run `Q_CLUSTER_NAME={settings.TRANSCODE_CLUSTER} manage.py qcluster`).")
            return
        else:
            job = self.follow(job)
        self.stdout.write("")
        video.refresh_from_db()
        if job.state != TranscodeJob.State.SUCCEEDED:
            raise CommandError(f"Transcode {job.state}: {video.error_message or job.error}")
        self.stdout.write(self.style.SUCCESS(
            f"ready: {video.renditions.count()} rendition(s), {Path(settings.MEDIA_ROOT) / video.hls_path / 'master.m3u8'}"
        ))

    def video_and_job(self, target, *, owner, title, visibility):
        if target.isdigit():
            video = selectors.video_find(video_id=int(target))
            if video is None:
                raise CommandError(f"No video with id {target}.")
            return video, services.transcode_request(video=video)
        path = Path(target)
        if not path.is_file():
            raise CommandError(f"{target} is neither a video id nor a file.")
        user = self.owner(owner)
        with path.open("rb") as file:
            video = services.video_upload(owner=user, upload=File(file, name=path.name), title=title or path.stem,
                                          visibility=visibility)
        return video, selectors.video_latest_job(video=video)

    def owner(self, email):
        users = get_user_model().objects
        if email:
            user = users.filter(email__iexact=email).first()
            if user is None:
                raise CommandError(f"No user with email {email}.")
            return user
        user = users.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError("Pass --owner EMAIL (there is no superuser to own the video).")
        return user

    def follow(self, job):
        while True:
            job.refresh_from_db()
            self.draw(job.progress, job.speed, state=job.state)
            if not job.is_active:
                return job
            time.sleep(0.5)

    def draw(self, percent, speed, state="running"):
        filled = int(BAR_WIDTH * min(percent, 100) / 100)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stdout.write(f"\r[{bar}] {percent:5.1f}%  {speed:4.1f}x  {state:<9}", ending="")
        self.stdout.flush()

