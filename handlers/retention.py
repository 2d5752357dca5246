"""RETENTION (152-FZ): the background job that erases closed tickets' personal data after a while.

Texts, files, phones and relay copies go (``storage.retention``); the anonymous figures stay, so
``/figures`` and the exports still count those requests. Batches, so one tick never holds the
database for long; the runner repeats rounds until nothing is due.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from handlers.background import Job
from storage.uow import Database

log = logging.getLogger(__name__)
BATCH = 200


class Retention(Job):
    name = "retention"

    def __init__(self, db: Database, *, keep: timedelta, interval: timedelta = timedelta(hours=1)) -> None:
        super().__init__()
        self._db = db
        self._keep = keep
        self.interval = interval.total_seconds()
        self.delay = 120.0  # not in the busy first minutes of a start

    async def run_once(self, now: datetime) -> int:
        async with self._db.uow() as uow:
            erased = await uow.retention.erase_closed(now - self._keep, now, limit=BATCH)
        if erased:
            log.info("retention: erased the personal data of %d closed requests", erased)
        return erased
