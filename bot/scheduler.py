"""The scheduler tick: APScheduler only ticks; what to do is decided from our tables."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.background import Background
from storage.models import utcnow


def create_scheduler(background: Background) -> AsyncIOScheduler:
    """One interval job per background job; a tick that is still running is not started twice."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in background.jobs:
        scheduler.add_job(
            background.tick,
            "interval",
            args=[job.name],
            seconds=job.interval,
            id=job.name,
            # A tick that finds its job running returns at once; a second instance keeps APScheduler
            # from warning about every tick skipped while a long round (paced sends) goes on.
            max_instances=2,
            coalesce=True,
            # A tick due while the loop was busy runs late rather than never: APScheduler's default
            # (1 s) skipped it with a warning, and the start links' first tick, skipped after a
            # stall at the start, came back only at its next interval, 5 minutes later (a test's
            # failure on the CI machine); a daily job would have waited a day.
            misfire_grace_time=None,
            next_run_time=utcnow() + timedelta(seconds=job.delay),
        )
    return scheduler
