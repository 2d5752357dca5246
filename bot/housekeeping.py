"""The scheduler tick: APScheduler only ticks; what to do is decided from our tables."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.inflight import InFlight
from handlers.sla import SlaWatch
from storage.models import utcnow
from storage.uow import Database

log = logging.getLogger(__name__)

UPDATE_IDS_KEPT = timedelta(days=7)
# Older message ids are useless for the quick exit: Telegram cannot delete them any more.
MESSAGE_IDS_KEPT = timedelta(hours=48)


async def housekeeping(db: Database, clock: Callable[[], datetime] = utcnow) -> tuple[int, int]:
    now = clock()
    async with db.uow() as uow:
        updates = await uow.updates.prune(now - UPDATE_IDS_KEPT)
        messages = await uow.chat_log.prune(now - MESSAGE_IDS_KEPT)
    if updates or messages:
        log.info("housekeeping: forgot %d update ids and %d message ids", updates, messages)
    return updates, messages


def create_scheduler(
    db: Database,
    sla: SlaWatch | None = None,
    interval: timedelta = timedelta(minutes=10),
    in_flight: InFlight | None = None,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    tracker = in_flight or InFlight()

    async def tidy() -> None:
        # A shutdown waits for a running tick instead of cancelling it mid-transaction.
        async with tracker.track():
            await housekeeping(db)

    if sla is not None:
        scheduler.add_job(sla.tick, "interval", seconds=60, id="sla", max_instances=1, coalesce=True)
    scheduler.add_job(
        tidy,
        "interval",
        seconds=interval.total_seconds(),
        id="housekeeping",
        max_instances=1,
        coalesce=True,
        # Not at the very start: the first run once the transports have settled (see the session note).
        next_run_time=utcnow() + timedelta(minutes=1),
    )
    return scheduler
