"""Forget what is no longer needed: old update ids and the message ids of the quick exit; and copy
SQLite's WAL into the database file, off the event loop, every second."""

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


class WalCheckpoint(Job):
    """SQLite's WAL copied into the file every second (``Database.checkpoint``), off the event loop:
    the connections do not do it on commit, so that a family's turn can commit on the loop's
    thread (storage/sqlite_driver.py). Without it the WAL would only grow. PostgreSQL: a no-op."""

    name = "wal_checkpoint"
    interval = 1.0

    def __init__(self, db: Database) -> None:
        super().__init__()
        self._db = db
        self._left = 0

    async def run_once(self, now: datetime) -> int:
        left = await self._db.checkpoint()
        if left and not self._left:
            log.info("the WAL keeps %d pages that readers still use; the next checkpoints copy them", left)
        self._left = left
        return 0  # one round a tick: what readers hold is copied at the next one
