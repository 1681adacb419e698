"""django-q2 entry points: each takes a row id and calls a service."""

from django.conf import settings

from core.jobs import sweep_loop
from media_pipeline import services

# The name of its django-q2 schedule (migration 0003): minutely.
SWEEP_SCHEDULE = "media: requeue stalled transcodes"


def transcode(job_id: int) -> None:
    services.transcode_run(job_id=job_id)


def transcode_sweep(seconds: float = 100) -> int:
    """Scheduled every minute; sweeps every WORK_SWEEP_INTERVAL seconds until the next run takes
    over (core.jobs.sweep_loop), so a lease that expired is noticed within that interval."""
    return sweep_loop(services.transcode_jobs_sweep, schedule_name=SWEEP_SCHEDULE,
                      interval=settings.WORK_SWEEP_INTERVAL, seconds=seconds)
