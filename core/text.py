"""Numbers as people read them, for pages, emails and the admin alike."""

from __future__ import annotations


def duration_text(seconds: float | None) -> str:
    """`187.4` → "3:07", `3725` → "1:02:05"; "" when unknown."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
