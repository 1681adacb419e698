"""Admin: the chain mirrors are visible to staff and cannot be edited by hand."""

import pytest
from django.urls import reverse

from payments import services
from tests.test_payments_api import make_payment, make_stream

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["payment", "paymentstream", "indexercursor", "chaindeployment", "indexedblock"])
def test_changelists_show_and_adding_is_refused(admin_client, model):
    services.deployment_record(chain_id=31337, token_address="0x" + "1" * 40, stream_address="0x" + "2" * 40, deploy_block=1)
    make_payment(1)
    make_stream(1)
    assert admin_client.get(reverse(f"admin:payments_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:payments_{model}_add")).status_code == 403


def test_a_payment_cannot_be_changed(admin_client):
    payment = make_payment(7, amount=5)
    url = reverse("admin:payments_payment_change", args=[payment.pk])
    assert admin_client.get(url).status_code == 200  # viewable
    admin_client.post(url, {"amount": "999999", "status": "confirmed"})
    payment.refresh_from_db()
    assert payment.amount == 5
