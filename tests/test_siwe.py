"""Sign-In with Ethereum: our strict EIP-4361 parser and the two endpoints, with real signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from eth_account import Account
from eth_account.messages import encode_defunct

from accounts import siwe
from accounts.models import User
from integrations.blockchain.devkeys import ANVIL_DEV_KEYS

WALLET = Account.from_key(ANVIL_DEV_KEYS[1])
OTHER = Account.from_key(ANVIL_DEV_KEYS[2])
SITE = "http://testserver"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(message: str, account=WALLET) -> str:
    return account.sign_message(encode_defunct(text=message)).signature.to_0x_hex()


def message_for(nonce: str, *, account=WALLET, domain="testserver", uri=SITE + "/login", chain_id=31337, **extra) -> str:
    fields = {"issued_at": iso(datetime.now(UTC)), "statement": "Sign in to Flowcast.", **extra}
    return siwe.build_message(domain=domain, address=account.address, uri=uri, chain_id=chain_id, nonce=nonce, **fields)


# --- the parser ---------------------------------------------------------------------------------


def test_parser_reads_every_field():
    text = siwe.build_message(
        domain="example.com:8000", address=WALLET.address, uri="https://example.com:8000/x", chain_id=1, nonce="abcd1234XY",
        issued_at="2026-01-01T00:00:00Z", statement="Hi.", expiration_time="2026-01-01T01:00:00.5+02:00",
        not_before="2025-12-31T23:00:00Z", request_id="req-1", resources=("ipfs://a", "https://b/c"),
    )
    parsed = siwe.parse_message(text)
    assert (parsed.domain, parsed.address, parsed.statement, parsed.chain_id, parsed.nonce) == (
        "example.com:8000", WALLET.address, "Hi.", 1, "abcd1234XY")
    assert parsed.expiration_time == datetime(2026, 1, 1, 1, 0, 0, 500000, tzinfo=timezone_offset(2))
    assert parsed.request_id == "req-1" and parsed.resources == ("ipfs://a", "https://b/c")
    no_statement = siwe.parse_message(siwe.build_message(
        domain="a.b", address=WALLET.address, uri="https://a.b", chain_id=5, nonce="12345678", issued_at="2026-01-01T00:00:00Z"))
    assert no_statement.statement is None


def timezone_offset(hours):
    from datetime import timezone
    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize("mutate, error", [
    (lambda t: t.replace(WALLET.address, WALLET.address.lower()), "EIP-55"),
    (lambda t: t.replace("Version: 1", "Version: 2"), "Version must be 1"),
    (lambda t: t.replace("Nonce: abcd1234", "Nonce: ab-1"), "Nonce"),
    (lambda t: t.replace("Issued At: 2026-01-01T00:00:00Z", "Issued At: yesterday"), "RFC 3339"),
    (lambda t: t.replace("\n", "\r\n"), "LF"),
    (lambda t: t + "\nExtra: stuff", "Unexpected text"),
    (lambda t: t.replace(" wants you to sign in", " would like you to sign in"), "first line"),
    (lambda t: t.replace("Chain ID: 1", "Chain ID: one"), "Chain ID"),
    (lambda t: t.replace("\n\nHi.\n\n", "\nHi.\n\n"), "empty line"),
])
def test_parser_rejects_what_the_grammar_does_not_allow(mutate, error):
    text = siwe.build_message(domain="example.com", address=WALLET.address, uri="https://example.com", chain_id=1,
                              nonce="abcd1234", issued_at="2026-01-01T00:00:00Z", statement="Hi.")
    siwe.parse_message(text)
    with pytest.raises(siwe.SiweError, match=error):
        siwe.parse_message(mutate(text))


# --- the endpoints --------------------------------------------------------------------------------


@pytest.fixture
def siwe_settings():
    from django.core.cache import cache

    cache.clear()  # the nonce endpoint's throttle counts per client address
    with override_settings(SITE_URL=SITE, CHAIN_ID=31337):
        yield


@pytest.fixture
def wallet_user(db):
    return User.objects.create_user("wallet@example.com", "pw-123456789", wallet_address=WALLET.address)


def get_nonce(client) -> str:
    response = client.get("/api/auth/siwe/nonce")
    assert response.status_code == 200
    body = response.json()
    assert body["domain"] == "testserver" and body["chain_id"] == 31337
    return body["nonce"]


def verify(client, message, signature):
    return client.post("/api/auth/siwe/verify", {"message": message, "signature": signature}, content_type="application/json")


def test_good_sign_in_logs_the_wallet_owner_in(client, siwe_settings, wallet_user):
    message = message_for(get_nonce(client))
    response = verify(client, message, sign(message))
    assert response.status_code == 200, response.json()
    assert response.json() == {"user_id": wallet_user.pk, "email": "wallet@example.com",
                               "wallet_address": WALLET.address.lower(), "linked": False}
    assert client.session["_auth_user_id"] == str(wallet_user.pk)


def test_a_signed_in_user_links_a_wallet(client, siwe_settings, db):
    user = User.objects.create_user("new@example.com", "pw-123456789")
    client.force_login(user)
    message = message_for(get_nonce(client), account=OTHER)
    response = verify(client, message, sign(message, OTHER))
    assert response.status_code == 200 and response.json()["linked"] is True
    user.refresh_from_db()
    assert user.wallet_address == OTHER.address.lower()


def test_a_wallet_linked_to_someone_else_is_refused(client, siwe_settings, wallet_user):
    client.force_login(User.objects.create_user("thief@example.com", "pw-123456789"))
    message = message_for(get_nonce(client))
    response = verify(client, message, sign(message))
    assert response.status_code == 409 and response.json()["code"] == "wallet_taken"


def assert_rejected(response, status, code):
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["code"] == code and body["message"]
    return body


def test_replayed_nonce_is_rejected(client, siwe_settings, wallet_user):
    message = message_for(get_nonce(client))
    assert verify(client, message, sign(message)).status_code == 200
    client.logout()
    assert_rejected(verify(client, message, sign(message)), 400, "siwe_bad_nonce")


def test_nonce_from_another_session_is_rejected(client, siwe_settings, wallet_user):
    from django.test import Client

    message = message_for(get_nonce(Client()))  # issued to someone else's browser
    assert_rejected(verify(client, message, sign(message)), 400, "siwe_bad_nonce")


def test_unknown_nonce_is_rejected(client, siwe_settings, wallet_user):
    get_nonce(client)
    message = message_for("madeup12345")
    assert_rejected(verify(client, message, sign(message)), 400, "siwe_bad_nonce")


def test_wrong_domain_is_rejected(client, siwe_settings, wallet_user):
    message = message_for(get_nonce(client), domain="evil.example")
    body = assert_rejected(verify(client, message, sign(message)), 400, "siwe_wrong_domain")
    assert "evil.example" in body["message"]


def test_wrong_scheme_is_rejected(client, siwe_settings, wallet_user):
    message = message_for(get_nonce(client), domain="https://testserver")
    assert_rejected(verify(client, message, sign(message)), 400, "siwe_wrong_domain")
    message = message_for(get_nonce(client), domain="http://testserver")
    assert verify(client, message, sign(message)).status_code == 200


def test_wrong_uri_is_rejected(client, siwe_settings, wallet_user):
    message = message_for(get_nonce(client), uri="https://evil.example/login")
    assert_rejected(verify(client, message, sign(message)), 400, "siwe_wrong_uri")


def test_wrong_chain_id_is_rejected(client, siwe_settings, wallet_user):
    message = message_for(get_nonce(client), chain_id=1)
    body = assert_rejected(verify(client, message, sign(message)), 400, "siwe_wrong_chain")
    assert "chain 1" in body["message"]


def test_expired_message_is_rejected(client, siwe_settings, wallet_user):
    past = datetime.now(UTC) - timedelta(minutes=5)
    message = message_for(get_nonce(client), issued_at=iso(past - timedelta(minutes=1)), expiration_time=iso(past))
    assert_rejected(verify(client, message, sign(message)), 400, "siwe_expired")


def test_message_issued_long_ago_is_rejected(client, siwe_settings, wallet_user):
    message = message_for(get_nonce(client), issued_at=iso(datetime.now(UTC) - timedelta(hours=2)))
    assert_rejected(verify(client, message, sign(message)), 400, "siwe_expired")


def test_expired_nonce_is_rejected(client, siwe_settings, wallet_user):
    from accounts.models import SiweNonce

    nonce = get_nonce(client)
    SiweNonce.objects.filter(nonce=nonce).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    message = message_for(nonce)
    assert_rejected(verify(client, message, sign(message)), 400, "siwe_bad_nonce")


def test_bad_signature_is_rejected(client, siwe_settings, wallet_user):
    message = message_for(get_nonce(client))
    assert_rejected(verify(client, message, sign(message, OTHER)), 400, "siwe_bad_signature")
    assert_rejected(verify(client, message, "0x1234"), 400, "siwe_bad_signature")
    # A signature of other text does not carry over either.
    assert_rejected(verify(client, message, sign(message + " ")), 400, "siwe_bad_signature")


def test_malformed_message_is_rejected(client, siwe_settings, wallet_user):
    get_nonce(client)
    assert_rejected(verify(client, "hello", sign("hello")), 400, "siwe_malformed")


def test_unknown_wallet_without_a_session_is_told_to_link_first(client, siwe_settings, db):
    message = message_for(get_nonce(client), account=OTHER)
    assert_rejected(verify(client, message, sign(message, OTHER)), 404, "wallet_unknown")


def test_nonce_requests_are_throttled(client, siwe_settings, db, settings):
    from django.core.cache import cache

    settings.AUTH_THROTTLE_RATE = "5/m"
    cache.clear()
    responses = [client.get("/api/auth/siwe/nonce") for _ in range(6)]
    cache.clear()
    assert [r.status_code for r in responses[:5]] == [200] * 5
    assert responses[5].status_code == 429 and responses[5].json()["code"] == "throttled"


def test_linking_a_wallet_attaches_the_rows_stored_for_it_and_detaches_the_old_ones(client, siwe_settings, db):
    """The indexer keeps rows by address; linking a wallet (accounts) makes payments attach that address's
    rows to the account and let go of the rows of the wallet it had before (accounts.signals.wallet_linked)."""
    from payments.models import Payment, PaymentStream

    old_wallet = "0x" + "0a" * 20
    user = User.objects.create_user("linker@example.com", "pw-123456789", wallet_address=old_wallet)
    token, streams, new_wallet, someone = "0x" + "70" * 20, "0x" + "5e" * 20, OTHER.address.lower(), "0x" + "99" * 20

    def payment(n, **fields):
        return Payment.objects.create(chain_id=31337, tx_hash="0x" + f"{n:064x}", log_index=0, block_number=n,
                                      block_hash="0x" + "bc" * 32, amount=10, token_address=token, contract_address=token,
                                      kind="transfer", status="confirmed", **fields)

    def stream(n, **fields):
        return PaymentStream.objects.create(chain_id=31337, contract_address=streams, stream_id=n, token_address=token,
                                            deposit=3600, rate_per_second=1, start_time=datetime(2026, 11, 27, tzinfo=UTC),
                                            stop_time=datetime(2026, 11, 28, tzinfo=UTC), withdrawn=0, remaining_balance=3600,
                                            tx_hash="0x" + f"{n:064x}", log_index=1, block_number=n, block_hash="0x" + "bc" * 32,
                                            **fields)

    paid_from_old = payment(1, from_address=old_wallet, to_address=someone, from_user=user)
    paid_to_new = payment(2, from_address=someone, to_address=new_wallet)
    paid_from_new = payment(3, from_address=new_wallet, to_address=someone)
    streamed_to_old = stream(1, sender=someone, recipient=old_wallet, recipient_user=user)
    streamed_from_new = stream(2, sender=new_wallet, recipient=someone)

    client.force_login(user)
    message = message_for(get_nonce(client), account=OTHER)
    response = verify(client, message, sign(message, OTHER))
    assert response.status_code == 200 and response.json()["linked"] is True

    def owner(row, field):
        row.refresh_from_db()
        return getattr(row, field)

    assert owner(paid_to_new, "to_user") == user and owner(paid_from_new, "from_user") == user
    assert owner(streamed_from_new, "sender_user") == user
    assert owner(paid_from_old, "from_user") is None and owner(streamed_to_old, "recipient_user") is None


def test_a_refused_link_changes_no_rows(client, siwe_settings, wallet_user):
    """A wallet that belongs to another account is refused before anything is linked: its rows stay theirs."""
    from payments.models import Payment

    row = Payment.objects.create(chain_id=31337, tx_hash="0x" + "11" * 32, log_index=0, block_number=1,
                                 block_hash="0x" + "bc" * 32, amount=10, token_address="0x" + "70" * 20,
                                 contract_address="0x" + "70" * 20, kind="transfer", status="confirmed",
                                 from_address=WALLET.address.lower(), to_address="0x" + "99" * 20, from_user=wallet_user)
    intruder = User.objects.create_user("intruder@example.com", "pw-123456789")
    client.force_login(intruder)
    message = message_for(get_nonce(client))
    assert verify(client, message, sign(message)).status_code == 409
    row.refresh_from_db()
    intruder.refresh_from_db()
    assert row.from_user == wallet_user and intruder.wallet_address is None
