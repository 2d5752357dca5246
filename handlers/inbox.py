"""The inbox use-case: what a transport took from its platform is kept before it is acknowledged.

A transport calls ``accept`` with a whole batch (one short transaction, with its cursor when it has
one) and only then acknowledges it to the platform; it hands each update on, and says ``handled``
when the handler returned. A restart starts with ``pending``: what was taken but not finished.
Marking rows handled is batched (a job flushes them), so a burst costs no extra transaction per
update; a crash before a flush only replays updates that are already recorded as processed (their
turn is not repeated; an answer not yet sent is sent).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from handlers.background import Job
from storage.uow import Database
from storage.vocabulary import Platform

log = logging.getLogger(__name__)


class Inbox(Job):
    name = "inbox"
    interval = 0.5  # how stale the "handled" marks may get; a crash replays at most this much

    def __init__(self, db: Database) -> None:
        super().__init__()
        self._db = db
        self._handled: list[tuple[str, int]] = []

    async def accept(
        self,
        platform: Platform,
        updates: Sequence[tuple[int, dict[str, Any]]],
        *,
        cursor: tuple[str, str] | None = None,
    ) -> None:
        """Keep a batch (and the transport's new position, if it keeps one) before acknowledging it."""
        async with self._db.uow() as uow:
            await uow.inbox.accept(platform, updates)
            if cursor is not None:
                await uow.cursors.save(*cursor)

    async def pending(self, platform: Platform) -> list[tuple[int, dict[str, Any]]]:
        async with self._db.uow() as uow:
            rows = await uow.inbox.pending(platform)
        if rows:
            log.info("%d %s updates taken before a stop are handled first", len(rows), platform.value)
        return [(row.update_id, dict(row.raw)) for row in rows]

    def handled(self, platform: Platform, update_id: int) -> None:
        self._handled.append((platform.value, update_id))

    async def run_once(self, now: datetime) -> int:
        """Forget what was handled (in one transaction for all of it)."""
        done, self._handled = self._handled, []
        if not done:
            return 0
        try:
            async with self._db.uow() as uow:
                await uow.inbox.done(done)
        except Exception:
            self._handled[:0] = done  # tried again at the next tick
            raise
        return 0  # nothing more is due until new updates are handled

    async def flush(self) -> None:
        """At shutdown, after the drain."""
        await self.run_once(datetime.now())
