"""What the operators' endpoints report: is the database answering, and how long are the queues."""

from __future__ import annotations

from storage.models import utcnow
from storage.stats import QueueStats
from storage.uow import Database


class Health:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def database_answers(self) -> bool:
        try:
            async with self._db.uow() as uow:
                await uow.stats.ping()
        except Exception:
            return False
        return True

    async def queues(self) -> QueueStats:
        async with self._db.uow() as uow:
            return await uow.stats.queues(utcnow())
