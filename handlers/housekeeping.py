"""Forget what is no longer needed: old update ids and the message ids of the quick exit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from handlers.background import Job
from storage.uow import Database

log = logging.getLogger(__name__)

UPDATE_IDS_KEPT = timedelta(days=7)
# Older message ids are useless for the quick exit: Telegram cannot delete them any more.
MESSAGE_IDS_KEPT = timedelta(hours=48)


class Housekeeping(Job):
    name = "housekeeping"

    def __init__(self, db: Database, *, interval: timedelta = timedelta(minutes=10)) -> None:
        super().__init__()
        self._db = db
        self.interval = interval.total_seconds()
        # Not at the very start: the first run once the transports have settled.
        self.delay = 60.0

    async def run_once(self, now: datetime) -> int:
        async with self._db.uow() as uow:
            updates = await uow.updates.prune(now - UPDATE_IDS_KEPT)
            messages = await uow.chat_log.prune(now - MESSAGE_IDS_KEPT)
        if updates or messages:
            log.info("housekeeping: forgot %d update ids and %d message ids", updates, messages)
        return updates + messages
