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
