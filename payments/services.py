"""Business logic of payments. The chain issue fills this in."""

from __future__ import annotations


def video_playable_by(*, video, viewer) -> bool:
    """Whether `viewer` may play paid `video`: a confirmed payment ≥ price to its owner,
    or an active stream to the owner at ≥ its stream rate. The owner always may.

    Placeholder until the payments index exists: only the owner and staff.
    """
    if viewer is None or not viewer.is_authenticated:
        return False
    return viewer.pk == video.owner_id or viewer.is_staff
