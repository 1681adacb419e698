"""Signals of the media pipeline.

`video_ready` and `video_failed` are sent inside the transaction that changes the
video's status, so a receiver that writes a row (an outbox email, an IPFS pin
record) commits or rolls back with it; receivers queue tasks only on commit.
"""

from django.dispatch import Signal

# sender=Video, video=<Video>
video_ready = Signal()
# sender=Video, video=<Video>, error=<str>
video_failed = Signal()
# sender=Video, video=<Video> (sent before the row and its files are deleted)
video_deleting = Signal()
# sender=Video, video=<Video>, previous=<str> (sent in the transaction that saved the new visibility)
video_visibility_changed = Signal()
# sender=Video, user=<User>; each receiver returns the bytes `user` stores in its own app (IPFS uploads),
# which the storage quota counts beside the user's video sources
storage_counting = Signal()

