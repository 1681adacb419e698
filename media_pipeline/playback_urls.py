"""Signed, expiring playback URLs for private and paid videos.

A URL looks like `/play/<video id>/<token>/master.m3u8` with
`token = <viewer id>-<expires>-<key id>-<hmac>`: the HMAC covers video, viewer
and expiry. Playlists refer to variants and segments by relative paths, so the
player resolves every request under the same signed prefix and nothing has to
rewrite the playlists. Several keys may verify at once (the first one signs),
so a key can be rotated without breaking links already handed out.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

TOKEN_PATTERN = re.compile(r"^(?P<viewer>[0-9]+)-(?P<expires>[0-9]{1,12})-(?P<kid>[a-z0-9]{1,16})-(?P<sig>[0-9a-f]{32})$")


class InvalidPlaybackToken(Exception):
    """The token is malformed, tampered with, signed by an unknown key or expired."""


@dataclass(frozen=True)
class PlaybackGrant:
    video_id: int
    viewer_id: int  # 0 for a visitor who is not signed in
    expires: int


def parse_signing_keys(raw: str, *, fallback_secret: str) -> list[tuple[str, bytes]]:
    """`"k2:secret2,k1:secret1"` → [("k2", b"secret2"), ...]; the first one signs."""
    keys = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kid, _, secret = item.partition(":")
        if not re.fullmatch(r"[a-z0-9]{1,16}", kid) or len(secret) < 16:
            raise ValueError(f"PLAYBACK_SIGNING_KEYS entry {kid!r}: use kid:secret, kid [a-z0-9]{{1,16}}, secret ≥ 16 chars")
        keys.append((kid, secret.encode()))
    if not keys:
        keys.append(("k0", hashlib.sha256(f"flowcast-playback:{fallback_secret}".encode()).digest()))
    return keys


@functools.lru_cache(maxsize=16)
def _keyed_hmac(secret: bytes):
    """HMAC-SHA256 with the key already mixed in: a listing signs a link per video."""
    return hmac.new(secret, digestmod=hashlib.sha256)


@functools.lru_cache(maxsize=4096)
def _signature(secret: bytes, video_id: int, viewer_id: int, expires: int) -> str:
    """Cached: a link is signed once per video, viewer and expiry second, however many listings and
    players ask for it within that second (the answer is the same HMAC, so nothing a client sees changes)."""
    mac = _keyed_hmac(secret).copy()
    mac.update(f"playback:{video_id}:{viewer_id}:{expires}".encode())
    return mac.hexdigest()[:32]


def playback_token(*, video_id: int, viewer_id: int, expires: int, keys: Sequence[tuple[str, bytes]]) -> str:
    kid, secret = keys[0]
    return f"{viewer_id}-{expires}-{kid}-{_signature(secret, video_id, viewer_id, expires)}"


def verify_playback_token(token: str, *, video_id: int, keys: Sequence[tuple[str, bytes]], now: float | None = None) -> PlaybackGrant:
    match = TOKEN_PATTERN.match(token)
    if not match:
        raise InvalidPlaybackToken("malformed playback token")
    viewer_id, expires, kid = int(match["viewer"]), int(match["expires"]), match["kid"]
    secret = dict(keys).get(kid)
    if secret is None:
        raise InvalidPlaybackToken("playback token signed with a retired key")
    if not hmac.compare_digest(_signature(secret, video_id, viewer_id, expires), match["sig"]):
        raise InvalidPlaybackToken("playback token signature does not match")
    if expires < (time.time() if now is None else now):
        raise InvalidPlaybackToken("playback link expired")
    return PlaybackGrant(video_id=video_id, viewer_id=viewer_id, expires=expires)


@functools.lru_cache(maxsize=8)
def _parsed_signing_keys(raw: str, fallback_secret: str) -> tuple[tuple[str, bytes], ...]:
    return tuple(parse_signing_keys(raw, fallback_secret=fallback_secret))


def signing_keys() -> tuple[tuple[str, bytes], ...]:
    """The configured keys, parsed once per value of the settings (which tests and rotations change)."""
    from django.conf import settings

    return _parsed_signing_keys(settings.PLAYBACK_SIGNING_KEYS, settings.SECRET_KEY)
