"""django-q2 entry points: each takes a record id and calls a service."""

from pinning import services


def ipfs_record_pin(record_id: int) -> str:
    return services.ipfs_record_pin(record_id=record_id)


def ipfs_record_poll(record_id: int) -> str:
    return services.ipfs_record_poll(record_id=record_id)


def ipfs_record_unpin(record_id: int) -> str:
    return services.ipfs_record_unpin(record_id=record_id)


def ipfs_records_sweep() -> dict:
    return services.ipfs_records_sweep()
