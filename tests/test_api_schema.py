"""Property-based run of schemathesis over the whole OpenAPI schema, as a visitor and as a
signed-in user: no server errors, and every response matches its documented schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from schemathesis.checks import positive_data_acceptance

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)

# Every check runs but one: "schema-valid data is accepted" cannot hold for values only a
# wallet or a signer can make (a SIWE message, a token), which rightly get 400.
EXCLUDED = [positive_data_acceptance]
FUZZ = hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture
def bearer_token(django_user_model):
    from accounts.services import api_token_create

    user = django_user_model.objects.create_user(email="fuzzer@example.com", password="fuzz-the-api-please")
    return api_token_create(user=user, name="schemathesis")[1]


@pytest.fixture(autouse=True)
def generous_throttle(settings):
    settings.AUTH_THROTTLE_RATE = "100000/m"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@FUZZ
def test_api_as_a_visitor(case):
    case.call_and_validate(excluded_checks=EXCLUDED)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@FUZZ
def test_api_as_a_signed_in_user(case, bearer_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {bearer_token}"}, excluded_checks=EXCLUDED)
