"""Sign-In with Ethereum (EIP-4361): a strict parser and checks of our own, pure functions.

The PyPI `siwe` package cannot be installed beside web3 8 (see the notes), so the message grammar
is implemented here, line by line, and the signer is recovered with eth-account (EIP-191
personal_sign). Contract wallets (EIP-1271) are not supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address

HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
NONCE_RE = re.compile(r"^[A-Za-z0-9]{8,}$")
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
# RFC 3339 date-time (the grammar's `date-time`), with a Z or an offset.
# ASCII digits only ([0-9], not \d, which matches every script's digits), as the grammar says.
DATETIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")
CHAIN_ID_RE = re.compile(r"^[0-9]{1,20}$")
OPTIONAL_FIELDS = (("Expiration Time", "expiration_time"), ("Not Before", "not_before"), ("Request ID", "request_id"))


class SiweError(ValueError):
    def __init__(self, message: str, code: str = "siwe_malformed"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SiweMessage:
    scheme: str | None
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteOrigin:
    domain: str  # host[:port], what the message's first line must name
    origin: str  # scheme://host[:port], what the message's URI must start with


def site_origin(site_url: str) -> SiteOrigin:
    parts = urlsplit(site_url)
    return SiteOrigin(domain=parts.netloc, origin=f"{parts.scheme}://{parts.netloc}")


def _datetime(value: str, name: str) -> datetime:
    if not DATETIME_RE.match(value):
        raise SiweError(f"{name} must be an RFC 3339 date-time, got {value!r}.")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SiweError(f"{name} is not a valid date-time: {value!r}.") from None


def _field(lines: list[str], index: int, name: str) -> str:
    prefix = f"{name}: "
    if index >= len(lines) or not lines[index].startswith(prefix):
        raise SiweError(f"Expected the line '{name}: ...' at line {index + 1}.")
    value = lines[index][len(prefix):]
    if not value:
        raise SiweError(f"{name} is empty.")
    return value


def parse_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message exactly as the grammar says; anything else is a SiweError."""
    if "\r" in text:
        raise SiweError("Lines must end with LF only.")
    lines = text.split("\n")
    if not lines[0].endswith(HEADER_SUFFIX):
        raise SiweError("The first line must be '<domain> wants you to sign in with your Ethereum account:'.")
    authority = lines[0][: -len(HEADER_SUFFIX)]
    scheme = None
    if "://" in authority:
        scheme, authority = authority.split("://", 1)
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*$", scheme):
            raise SiweError("Invalid scheme before the domain.")
    if not DOMAIN_RE.match(authority):
        raise SiweError(f"Invalid domain {authority!r}.")
    if len(lines) < 2 or not ADDRESS_RE.match(lines[1]):
        raise SiweError("The second line must be a 0x address.")
    if not is_checksum_address(lines[1]):
        raise SiweError("The address must be in EIP-55 mixed-case checksum form.")
    if len(lines) < 4 or lines[2] != "":
        raise SiweError("An empty line must follow the address.")
    index = 3
    statement = None
    if lines[index] != "":
        statement = lines[index]
        index += 1
        if index >= len(lines) or lines[index] != "":
            raise SiweError("An empty line must follow the statement.")
    index += 1
    uri = _field(lines, index, "URI")
    if not urlsplit(uri).scheme:
        raise SiweError("URI must be an absolute URI.")
    version = _field(lines, index + 1, "Version")
    if version != "1":
        raise SiweError("Version must be 1.")
    chain_text = _field(lines, index + 2, "Chain ID")
    if not CHAIN_ID_RE.match(chain_text):
        raise SiweError("Chain ID must be a number in ASCII digits.")
    nonce = _field(lines, index + 3, "Nonce")
    if not NONCE_RE.match(nonce):
        raise SiweError("Nonce must be at least 8 letters or digits.")
    issued_at = _datetime(_field(lines, index + 4, "Issued At"), "Issued At")
    index += 5
    optional: dict = {}
    for name, key in OPTIONAL_FIELDS:
        if index < len(lines) and lines[index].startswith(f"{name}: "):
            value = _field(lines, index, name)
            optional[key] = value if key == "request_id" else _datetime(value, name)
            index += 1
    resources: list[str] = []
    if index < len(lines) and lines[index] == "Resources:":
        index += 1
        while index < len(lines) and lines[index].startswith("- "):
            resources.append(lines[index][2:])
            index += 1
    if index != len(lines):
        raise SiweError(f"Unexpected text at line {index + 1}: {lines[index][:60]!r}.")
    return SiweMessage(
        scheme=scheme, domain=authority, address=lines[1], statement=statement, uri=uri, version=version,
        chain_id=int(chain_text), nonce=nonce, issued_at=issued_at, resources=tuple(resources), **optional,
    )


def check_message(message: SiweMessage, *, domain: str, uri_origin: str, chain_id: int, now: datetime,
                  max_age_seconds: int = 600, clock_skew_seconds: int = 60) -> None:
    """Raise SiweError unless the message is meant for this site, this chain, and now."""
    if message.scheme is not None and f"{message.scheme}://".lower() != uri_origin.lower().split("//")[0] + "//":
        raise SiweError(f"The message is for {message.scheme}://{message.domain}, not {uri_origin}.", "siwe_wrong_domain")
    if message.domain.lower() != domain.lower():
        raise SiweError(f"The message is for {message.domain}, not {domain}.", "siwe_wrong_domain")
    uri = urlsplit(message.uri)
    if f"{uri.scheme}://{uri.netloc}".lower() != uri_origin.lower():
        raise SiweError(f"The message's URI is not on {uri_origin}.", "siwe_wrong_uri")
    if message.chain_id != chain_id:
        raise SiweError(f"The message is for chain {message.chain_id}, not chain {chain_id}.", "siwe_wrong_chain")
    seconds_since_issued = (now - message.issued_at).total_seconds()
    if seconds_since_issued < -clock_skew_seconds:
        raise SiweError("The message was issued in the future.", "siwe_not_yet_valid")
    if seconds_since_issued > max_age_seconds:
        raise SiweError("The message was issued too long ago; sign a new one.", "siwe_expired")
    if message.expiration_time is not None and now >= message.expiration_time:
        raise SiweError("The message has expired; sign a new one.", "siwe_expired")
    if message.not_before is not None and now < message.not_before:
        raise SiweError("The message is not valid yet.", "siwe_not_yet_valid")


def recover_signer(message_text: str, signature: str) -> str:
    """The lower-case address that signed `message_text` (EIP-191 personal_sign)."""
    if not re.match(r"^0x[0-9a-fA-F]{130}$", signature or ""):
        raise SiweError("The signature must be 65 bytes in hex (0x + 130 digits).", "siwe_bad_signature")
    try:
        return Account.recover_message(encode_defunct(text=message_text), signature=signature).lower()
    except Exception:
        raise SiweError("The signature cannot be verified.", "siwe_bad_signature") from None


def build_message(*, domain: str, address: str, uri: str, chain_id: int, nonce: str, issued_at: str,
                  statement: str | None = None, expiration_time: str | None = None, not_before: str | None = None,
                  request_id: str | None = None, resources: tuple[str, ...] = ()) -> str:
    """The EIP-4361 text for these fields (what a wallet shows; used by clients and tests)."""
    lines = [f"{domain}{HEADER_SUFFIX}", address, ""]
    if statement is not None:
        lines += [statement, ""]
    else:
        lines += [""]
    lines += [f"URI: {uri}", "Version: 1", f"Chain ID: {chain_id}", f"Nonce: {nonce}", f"Issued At: {issued_at}"]
    if expiration_time:
        lines.append(f"Expiration Time: {expiration_time}")
    if not_before:
        lines.append(f"Not Before: {not_before}")
    if request_id:
        lines.append(f"Request ID: {request_id}")
    if resources:
        lines += ["Resources:", *[f"- {r}" for r in resources]]
    return "\n".join(lines)
