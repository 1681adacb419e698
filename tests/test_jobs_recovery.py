"""Issue 15 items 3-4: every task names its queue; a killed worker's job runs again within 30 s, without
doubling a slow but living one; a fenced-off worker cannot publish; each attempt is kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files import File
from django.db import connection
from django.test import Client
from django_q.models import Task
from django_q.tasks import async_task

from accounts.models import User
from core.jobs import claim, queue_cluster
from media_pipeline import services
from media_pipeline.hls.layout import HLS_DIR, TranscodeOutput
from media_pipeline.models import TranscodeJob, Video
from notifications.models import OutboundEmail
from pinning.models import IPFSRecord
from tests.fixtures.processes import ROOT, wait_for

FOLLOW_UPS = {"pinning.tasks.ipfs_record_pin", "notifications.tasks.outbound_email_send"}
FAST_LEASE = {"WORK_HEARTBEAT_SECONDS": "0.5", "WORK_LEASE_SECONDS": "2", "WORK_SWEEP_INTERVAL": "0.5"}


@pytest.fixture
def creator(transactional_db):
    return User.objects.create_user(email="creator@example.com", password="pw-123456-long")


def saved_video(owner, path: Path, *, title="clip", status=Video.Status.UPLOADED) -> Video:
    with open(path, "rb") as file:
        video = Video(owner=owner, title=title)
        video.source.save(path.name, File(file), save=False)
        video.save()
    return video


# ------------------------------------------------------------------ routing (item 3)

def test_a_task_queued_inside_a_long_worker_goes_to_the_default_broker_list(creator, make_clip, monkeypatch):
    """django-q2 sends a task without `cluster=` to Conf.CLUSTER_NAME, the enqueuing worker's own cluster."""
    from django_q.conf import Conf

    monkeypatch.setattr(django_settings, "Q_CLUSTER", {**django_settings.Q_CLUSTER, "sync": False})
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", django_settings.TRANSCODE_CLUSTER)  # as inside `<name>-long`
    from django_q.brokers import get_broker

    video = Video.objects.create(owner=creator, title="ready", status=Video.Status.READY, hls_path="videos/x/hls")
    # The broker the settings choose (ORM, or Redis with REDIS_URL), one list per cluster name.
    lists = {name: get_broker(name) for name in (django_settings.Q_CLUSTER["name"], django_settings.TRANSCODE_CLUSTER)}
    for broker in lists.values():
        broker.purge_queue()
    from tests.fixtures.job_tasks import announce_ready

    announce_ready(video.pk)
    sizes = {name: broker.queue_size() for name, broker in lists.items()}
    assert sizes[django_settings.Q_CLUSTER["name"]] >= 2, f"the ready video queued pins and an email: {sizes}"
    assert sizes[django_settings.TRANSCODE_CLUSTER] == 0, sizes


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_follow_up_tasks_of_a_long_worker_run_on_the_default_cluster(broker, creator, media_root, q_cluster_factory,
                                                                     settings):
    env = {"MEDIA_ROOT": str(media_root)}
    if broker == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
        except Exception:
            pytest.skip("no Redis on 127.0.0.1:6379")
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        env["Q_NAME"] = f"rel-jobs-{os.getpid()}-{time.time_ns()}"  # unique lists on the shared Redis
    long_name = f"{env.get('Q_NAME', settings.Q_CLUSTER['name'])}-long"
    default_name = env.get("Q_NAME", settings.Q_CLUSTER["name"])
    q_cluster_factory(name=long_name, env=env)
    q_cluster_factory(env=env)
    video = Video.objects.create(owner=creator, title="ready", status=Video.Status.READY, hls_path="videos/x/hls")
    # Queued by the test on the long cluster, as a transcode is (with the cluster's own settings).
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django_q.tasks import async_task; "
         f"async_task('tests.fixtures.job_tasks.announce_ready', {video.pk}, cluster={long_name!r})"],
        check=True, cwd=ROOT, env=_child_env(env),
    )
    def followups() -> set[tuple[str, str]]:
        """(func, cluster) of the tasks about this video's pins and its ready email (not, e.g., the welcome email)."""
        pins = set(IPFSRecord.objects.filter(object_id=video.pk).values_list("pk", flat=True))
        emails = set(OutboundEmail.objects.filter(template="video_ready").values_list("pk", flat=True))
        ids = {"pinning.tasks.ipfs_record_pin": pins, "notifications.tasks.outbound_email_send": emails}
        return {(task.func, task.cluster) for task in Task.objects.filter(func__in=FOLLOW_UPS)
                if task.args and task.args[0] in ids[task.func]}

    wait_for(lambda: {func for func, _ in followups()} == FOLLOW_UPS, timeout=60, what="the follow-up tasks ran")
    assert Task.objects.get(func="tests.fixtures.job_tasks.announce_ready").cluster == long_name
    ran_on = followups()
    assert {cluster for _, cluster in ran_on} == {default_name}, ran_on


def _child_env(extra: dict) -> dict:
    from tests.fixtures.qcluster import child_environment

    return child_environment(**extra)


def test_an_unknown_queue_is_refused():
    with pytest.raises(ValueError, match="unknown queue"):
        queue_cluster("fast")


# ------------------------------------------------------------------ recovery (item 4)

@pytest.mark.slow
def test_a_killed_worker_s_job_runs_again_within_30_seconds(creator, make_clip, media_root, q_cluster_factory, settings):
    env = {"MEDIA_ROOT": str(media_root), **FAST_LEASE}
    q_cluster_factory(name=settings.TRANSCODE_CLUSTER, env=env)
    q_cluster_factory(env=env)
    # What the minutely schedule starts: the sweeper loop, on the default cluster.
    async_task("media_pipeline.tasks.transcode_sweep", 120, cluster=queue_cluster("default"))
    video = saved_video(creator, make_clip(width=1280, height=720, seconds=20))
    job = video.transcode_jobs.get()

    def first_attempt_encoding():
        job.refresh_from_db()
        return job.state == "running" and job.progress > 0 and job.attempt_history

    wait_for(first_attempt_encoding, timeout=120, interval=0.2, what="transcode under way")
    worker_pid = int(job.attempt_history[0]["worker"].split(":")[1])
    os.kill(worker_pid, signal.SIGKILL)
    killed_at = time.monotonic()

    def second_attempt_running():
        job.refresh_from_db()
        return job.attempts == 2 and job.state in {"running", "succeeded", "failed"}

    wait_for(second_attempt_running, timeout=60, interval=0.2, what="the job running again")
    assert time.monotonic() - killed_at < 30
    first = job.attempt_history[0]
    assert first["outcome"] == "lease_expired" and first["reason"] == services.LEASE_EXPIRED and first["ended_at"]
    assert job.attempt_history[1]["attempt"] == 2 and job.attempt_history[1]["worker"] != first["worker"]


def test_a_slow_but_living_worker_keeps_its_lease(creator, make_clip, media_root, settings):
    """The slowness is a sleep in the ffmpeg-start hook (no progress reported meanwhile) — a stand-in for a
    long probe or a stall; the lease is renewed by the worker's own thread, so the sweeper leaves it alone."""
    settings.WORK_HEARTBEAT_SECONDS, settings.WORK_LEASE_SECONDS = 0.2, 1.0
    video = saved_video(creator, make_clip(width=320, height=240, seconds=2))
    job = video.transcode_jobs.get()
    slept = []

    def slow_start(pid):
        if not slept:
            slept.append(pid)
            time.sleep(4)  # four lease lengths without a progress line

    done = threading.Event()

    def work():
        try:
            services.transcode_run(job_id=job.pk, on_ffmpeg_start=slow_start)
        finally:
            connection.close()
            done.set()

    threading.Thread(target=work).start()
    requeued = 0
    while not done.wait(0.2):
        requeued += services.transcode_jobs_sweep().requeued
    job.refresh_from_db()
    assert slept and requeued == 0 and job.attempts == 1
    assert [entry["attempt"] for entry in job.attempt_history] == [1]
    assert job.attempt_history[0]["outcome"] != "lease_expired"


def fake_output(folder: Path, marker: str) -> TranscodeOutput:
    """A finished work folder (the fencing is about rows and renames, not about the encode)."""
    (folder / HLS_DIR).mkdir(parents=True)
    (folder / HLS_DIR / "master.m3u8").write_text(f"#EXTM3U\n# {marker}\n")
    return TranscodeOutput(folder=folder, renditions=[], duration=1.0)


def test_a_fenced_off_worker_cannot_publish_over_its_successor(creator, make_clip, media_root):
    video = saved_video(creator, make_clip(width=320, height=240, seconds=1))
    job = video.transcode_jobs.get()
    rows = TranscodeJob.objects.all()
    assert claim(rows, pk=job.pk, from_values=["queued"], to_value="running")
    stale_worker = TranscodeJob.objects.get(pk=job.pk)  # attempt 1, then it freezes
    services.attempt_begin(rows, pk=job.pk, attempt=1)
    TranscodeJob.objects.filter(pk=job.pk).update(heartbeat_at=stale_worker.heartbeat_at.replace(year=2000))
    assert services.transcode_jobs_sweep().requeued == 1
    assert claim(rows, pk=job.pk, from_values=["queued"], to_value="running")
    successor = TranscodeJob.objects.get(pk=job.pk)
    services.attempt_begin(rows, pk=job.pk, attempt=2)
    folder = services.video_folder(video.pk)
    assert services.transcode_publish(job=successor, output=fake_output(folder / ".work-b", "attempt 2"))
    # The stale worker wakes up: its heartbeat and its publish are refused; what attempt 2 published stays.
    assert not services.heartbeat(rows.filter(attempts=1), pk=job.pk, while_value="running")
    assert not services.transcode_publish(job=stale_worker, output=fake_output(folder / ".work-a", "attempt 1"))
    video.refresh_from_db()
    master = Path(django_settings.MEDIA_ROOT) / video.hls_path / "master.m3u8"
    assert master.read_text().endswith("# attempt 2\n")
    assert not (folder / ".work-a").exists()
    job.refresh_from_db()
    assert [(h["attempt"], h["outcome"]) for h in job.attempt_history] == [(1, "lease_expired"), (2, "succeeded")]
    # The history is in the job API and on the admin pages.
    client = Client()
    client.force_login(creator)
    api = client.get(f"/api/videos/{video.pk}/job").json()
    assert [(h["attempt"], h["outcome"], h["reason"]) for h in api["attempt_history"]] == [
        (1, "lease_expired", services.LEASE_EXPIRED), (2, "succeeded", "")]
    staff = User.objects.create_superuser(email="staff@example.com", password="pw-123456-long")
    client.force_login(staff)
    for url in (f"/admin/media_pipeline/transcodejob/{job.pk}/change/", f"/admin/media_pipeline/video/{video.pk}/change/"):
        page = client.get(url).content.decode()
        assert 'class="attempt-history"' in page and "lease expired" in page and "succeeded" in page, url


def test_the_sweeper_loop_sweeps_every_interval_and_hands_over_to_the_next_run(db):
    """The minutely schedule fires 30-90 s apart (django-q2 checks schedules every ~30 s): a loop outlives
    the gap and stops once the scheduler started a newer run (the Schedule's task id changed)."""
    from django_q.models import Schedule

    from core.jobs import sweep_loop

    schedule = Schedule.objects.create(name="test sweep", func="math.floor", schedule_type=Schedule.MINUTES,
                                       minutes=1, task="run-1")
    swept, slept = [], []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 3:
            Schedule.objects.filter(pk=schedule.pk).update(task="run-2")  # the next run started

    passes = sweep_loop(lambda: swept.append(1), schedule_name="test sweep", interval=5, seconds=100, sleep=sleep)
    assert passes == len(swept) == 3 and slept == [5, 5, 5]
    # Without a newer run the loop ends at its time budget.
    assert sweep_loop(lambda: None, schedule_name="test sweep", interval=0.01, seconds=0.05) >= 2
