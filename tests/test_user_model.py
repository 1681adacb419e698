import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

User = get_user_model()

pytestmark = pytest.mark.django_db


def test_the_custom_user_model_is_active():
    assert User._meta.label == "accounts.User"
    assert User.USERNAME_FIELD == "email"


def test_create_user_signs_in_with_email(rf):
    user = User.objects.create_user(email="Ada@Example.COM", password="correct horse battery")
    assert user.email == "Ada@example.com"  # the domain part is normalised
    assert user.email_verified_at is None and not user.email_verified
    # the login lockout (django-axes) counts per address: every password check passes its request
    assert authenticate(rf.post("/signin/"), username="ada@example.com", password="correct horse battery") == user


def test_email_is_unique_ignoring_case():
    User.objects.create_user(email="ada@example.com", password="x")
    with pytest.raises((IntegrityError, ValidationError)), transaction.atomic():
        User.objects.create_user(email="ADA@example.com", password="y")


def test_wallet_is_optional_unique_and_stored_lowercase():
    a = User.objects.create_user(email="a@example.com", password="x")
    b = User.objects.create_user(email="b@example.com", password="x")
    assert a.wallet_address is None and b.wallet_address is None  # many users without a wallet
    a.wallet_address = "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    a.save()
    a.refresh_from_db()
    assert a.wallet_address == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    b.wallet_address = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    with pytest.raises(IntegrityError), transaction.atomic():
        b.save()


def test_malformed_wallet_is_rejected_with_a_message():
    user = User(email="c@example.com", wallet_address="0x1234")
    with pytest.raises(ValidationError) as error:
        user.full_clean(exclude=["password"])
    assert "40 hexadecimal digits" in str(error.value)


def test_superuser():
    admin = User.objects.create_superuser(email="root@example.com", password="x")
    assert admin.is_staff and admin.is_superuser
