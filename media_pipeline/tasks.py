"""django-q2 entry points: each takes a row id and calls a service."""

from media_pipeline import services


def transcode(job_id: int) -> None:
    services.transcode_run(job_id=job_id)


def transcode_sweep() -> dict:
    return services.transcode_jobs_sweep()
