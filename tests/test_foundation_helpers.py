import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from core.jobs import claim
from media_pipeline.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return User.objects.create_user(email="creator@example.com", password="x")


def test_uint256_amounts_are_exact_and_compare_numerically(owner):
    big = 2**255 + 12345
    Video.objects.create(owner=owner, title="big", visibility="paid", price=big)
    Video.objects.create(owner=owner, title="small", visibility="paid", price=9)
    Video.objects.create(owner=owner, title="ten", visibility="paid", price=10)
    assert Video.objects.get(title="big").price == big
    assert list(Video.objects.filter(price__gte=10).order_by("price").values_list("title", flat=True)) == ["ten", "big"]
    assert Video.objects.filter(price__lt=big).count() == 2


def test_uint256_rejects_out_of_range(owner):
    with pytest.raises(ValidationError):
        Video(owner=owner, title="x", visibility="paid", price=-1).full_clean()
    with pytest.raises(ValidationError):
        Video(owner=owner, title="x", visibility="paid", price=2**256).full_clean()


def test_paid_video_needs_a_price_or_rate(owner):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Video.objects.create(owner=owner, title="free lunch", visibility="paid")


def test_claim_is_won_once(owner):
    video = Video.objects.create(owner=owner, title="v")
    queryset = Video.objects.all()
    assert claim(queryset, pk=video.pk, field="status", from_values=["uploaded"], to_value="queued")
    assert not claim(queryset, pk=video.pk, field="status", from_values=["uploaded"], to_value="queued")
    video.refresh_from_db()
    assert video.status == "queued"


def test_retry_delay_doubles_up_to_its_cap():
    from datetime import timedelta

    from core.jobs import retry_delay

    assert [retry_delay(n, base_seconds=30, max_seconds=100) for n in (0, 1, 2, 3, 4)] == [
        timedelta(seconds=s) for s in (30, 30, 60, 100, 100)]


def test_the_sweeper_shape_requeues_rings_gives_up_and_is_fenced(owner, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from core.jobs import sweep_stale
    from media_pipeline.models import TranscodeJob

    long_ago = timezone.now() - timedelta(minutes=10)
    jobs = {}
    for name, state, attempts, beat in [("dead", "running", 1, long_ago), ("spent", "running", 3, long_ago),
                                        ("alive", "running", 1, timezone.now()), ("lost", "queued", 0, long_ago),
                                        ("fresh", "queued", 0, timezone.now())]:
        video = Video.objects.create(owner=owner, title=name)
        jobs[name] = TranscodeJob.objects.create(video=video, state=state, attempts=attempts, heartbeat_at=beat)
    given_up, requeued = [], []

    with django_capture_on_commit_callbacks() as callbacks:
        counts = sweep_stale(TranscodeJob.objects.all(), task="media_pipeline.tasks.transcode", queue="long",
                             running="running", waiting="queued", lease=timedelta(minutes=1), max_attempts=3,
                             requeue_fields={"error": "lease expired"}, on_requeued=lambda row: requeued.append(row.pk),
                             give_up=lambda row: given_up.append(row.pk) or True)
    assert (counts.requeued, counts.rung, counts.failed) == (1, 1, 1)
    assert requeued == [jobs["dead"].pk] and given_up == [jobs["spent"].pk]
    assert len(callbacks) == 2  # one task queued for the requeued row, one for the rung one, on commit
    states = dict(TranscodeJob.objects.values_list("pk", "state"))
    assert states[jobs["dead"].pk] == "queued" and states[jobs["alive"].pk] == "running"
    assert TranscodeJob.objects.get(pk=jobs["dead"].pk).error == "lease expired"
    # Rung rows wait a lease before the next ring; a requeued row is not requeued twice.
    with django_capture_on_commit_callbacks() as callbacks:
        again = sweep_stale(TranscodeJob.objects.filter(pk__in=[jobs["dead"].pk, jobs["lost"].pk]),
                            task="media_pipeline.tasks.transcode", queue="long", running="running",
                            waiting="queued", lease=timedelta(minutes=1))
    assert (again.requeued, again.rung, again.failed) == (0, 0, 0) and callbacks == []


def test_the_sweeper_shape_leaves_a_row_another_worker_claimed(owner):
    """Fenced by the attempt number: a claim between the read and the requeue wins."""
    from datetime import timedelta

    from django.utils import timezone

    from django.db.models.query import ModelIterable

    from core.jobs import sweep_stale
    from media_pipeline.models import TranscodeJob

    video = Video.objects.create(owner=owner, title="raced")
    job = TranscodeJob.objects.create(video=video, state="running", attempts=1,
                                      heartbeat_at=timezone.now() - timedelta(minutes=10))

    def claimed_meanwhile(row):
        raise AssertionError("requeued a row another worker held")

    rows = TranscodeJob.objects.all()
    stale_rows = list(rows)
    TranscodeJob.objects.filter(pk=job.pk).update(attempts=2)  # another worker claimed it after our read

    class Snapshot(type(rows)):
        """The sweeper's read of running rows, as it was before the claim."""

        def __iter__(self):
            return iter(stale_rows) if self._iterable_class is ModelIterable else super().__iter__()

    snapshot = rows._chain()
    snapshot.__class__ = Snapshot
    counts = sweep_stale(snapshot, task="media_pipeline.tasks.transcode", queue="long", running="running",
                         waiting="queued", lease=timedelta(minutes=1), on_requeued=claimed_meanwhile)
    assert counts.requeued == 0
    assert TranscodeJob.objects.get(pk=job.pk).state == "running"
