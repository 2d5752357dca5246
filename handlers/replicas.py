"""Which bot processes run on this database: a heartbeat, and the rule that several need Redis."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.background import Job
from storage.uow import Database

SEEN_WITHIN = timedelta(seconds=30)  # a replica not seen for this long is gone


class Heartbeat(Job):
    name = "heartbeat"
    interval = 10.0

    def __init__(self, db: Database, instance: str) -> None:
        super().__init__()
        self._db = db
        self.instance = instance

    async def others(self, now: datetime) -> list[str]:
        """Other replicas seen lately on this database."""
        async with self._db.uow() as uow:
            return await uow.stats.others_alive(self.instance, now - SEEN_WITHIN)

    async def run_once(self, now: datetime) -> int:
        async with self._db.uow() as uow:
            await uow.stats.alive(self.instance, now)
        return 0

    async def gone(self) -> None:
        async with self._db.uow() as uow:
            await uow.stats.gone(self.instance)
