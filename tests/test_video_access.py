"""One video access rule (media_pipeline.access): the API, the pages, the signed files and the demo refuse a paid
video not paid for with the one `payment_required` error; payments answer only "has this viewer paid these terms"."""

import ast
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import User
from demo.services import demo_playback_check
from media_pipeline.access import PaymentRequired, watch_check
from media_pipeline.models import Video
from media_pipeline.playback import media_url
from payments.selectors import PaidTerms, viewer_has_paid
from tests.payment_helpers import mirrored_payment

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
VIEWER_WALLET = "0x" + "1" * 40
OWNER_WALLET = "0x" + "2" * 40


@pytest.fixture
def paid_video(settings):
    owner = User.objects.create_user(email="owner@example.com", password="x", wallet_address=OWNER_WALLET)
    folder = settings.MEDIA_ROOT / "videos" / "1" / "hls"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "master.m3u8").write_text("#EXTM3U\n")
    return Video.objects.create(owner=owner, title="paid", visibility=Video.Visibility.PAID, price=100,
                                status=Video.Status.READY, hls_path="videos/1/hls", duration=30)


@pytest.fixture
def viewer():
    return User.objects.create_user(email="viewer@example.com", password="x", wallet_address=VIEWER_WALLET)


def test_a_paid_video_not_paid_for_is_one_error_everywhere(paid_video, viewer):
    client = Client()
    client.force_login(viewer)
    message = PaymentRequired().message

    with pytest.raises(PaymentRequired):
        watch_check(video=paid_video, viewer=viewer)
    api = client.get(f"/api/videos/{paid_video.pk}/playback")
    assert api.status_code == 403 and api.json() == {"code": "payment_required", "message": message, "fields": {}}
    page = client.get(f"/watch/{paid_video.pk}")
    assert page.status_code == 200 and page.context["player"]["locked"] and page.context["player"]["unlock"]
    # A link bound to the viewer (as issued while a stream ran) opens nothing once they have not paid.
    signed = client.get(media_url(video=paid_video, path=f"{paid_video.hls_path}/master.m3u8", viewer=viewer))
    assert signed.status_code == 403 and signed.content.decode() == message
    assert demo_playback_check(video=paid_video, viewer=viewer) is None

    mirrored_payment(sender=VIEWER_WALLET, recipient=OWNER_WALLET, amount=100)
    watch_check(video=paid_video, viewer=viewer)
    assert client.get(f"/api/videos/{paid_video.pk}/playback").status_code == 200
    assert not client.get(f"/watch/{paid_video.pk}").context["player"]["locked"]
    assert demo_playback_check(video=paid_video, viewer=viewer).endswith("/master.m3u8")


def test_payments_answer_only_whether_the_terms_were_paid(viewer):
    from django.contrib.auth.models import AnonymousUser

    mirrored_payment(sender=VIEWER_WALLET, recipient=OWNER_WALLET, amount=100)
    assert viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=OWNER_WALLET, price=100, stream_rate=None))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=OWNER_WALLET, price=101, stream_rate=None))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet="0x" + "3" * 40, price=1, stream_rate=None))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=OWNER_WALLET, price=None, stream_rate=1))
    assert not viewer_has_paid(viewer=viewer, terms=PaidTerms(creator_wallet=OWNER_WALLET, price=100, stream_rate=None,
                                                              token_address="0x" + "5" * 40))
    assert not viewer_has_paid(viewer=AnonymousUser(), terms=PaidTerms(creator_wallet=OWNER_WALLET, price=1,
                                                                       stream_rate=None))


def visibility_literal_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing something's `visibility` with a string literal (or a tuple/list/set of them)."""
    def literal(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return True
        return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(literal(e) for e in node.elts)

    def is_visibility(node):
        return (isinstance(node, ast.Attribute) and node.attr == "visibility") or \
            (isinstance(node, ast.Name) and node.id == "visibility")

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(is_visibility(side) for side in sides) and any(literal(side) for side in sides):
                lines.append(node.lineno)
    return lines


def test_visibility_is_compared_with_its_constants_only():
    offenders = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "node_modules", "tests"} or "migrations" in relative.parts:
            continue
        offenders += [f"{relative}:{line}" for line in visibility_literal_comparisons(ast.parse(path.read_text()))]
    assert offenders == []
