"""MAX's text message ids (``mid``) kept behind the integer ids every other layer stores.

The integer is derived from the mid (``render.message_number``); the database turns it back into
the mid for an edit, a delete, a copy or a reply, after a restart too. Recent ones stay in memory;
old ones are forgotten by ``PruneMessageIds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta

from handlers.background import Job
from storage.uow import Database, in_unit_of_work

log = logging.getLogger(__name__)

CACHE_SIZE = 10_000


class MessageIds:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: OrderedDict[int, str] = OrderedDict()
        self._saving: set[asyncio.Task[None]] = set()

    def _keep(self, pairs: dict[int, str]) -> None:
        for number, mid in pairs.items():
            self._cache[number] = mid
            self._cache.move_to_end(number)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def remember(self, pairs: dict[int, str]) -> None:
        new = {n: m for n, m in pairs.items() if self._cache.get(n) != m}
        self._keep(pairs)
        if not new:
            return
        if in_unit_of_work():
            # A file an effect sends inside its turn's unit of work (an admin's export, QR codes):
            # saved in a unit of work of its own once that one ends. Nested, it could not write on
            # SQLite (the turn holds the writer), and it would wait for a connection of the pool
            # that other turns hold while they wait for that writer.
            task = asyncio.create_task(self._save(new), name="max-message-ids")
            self._saving.add(task)
            task.add_done_callback(self._saving.discard)
            return
        await self._save(new)

    async def settle(self) -> None:
        """At a stop: the ids still being saved are saved."""
        if self._saving:
            await asyncio.gather(*self._saving, return_exceptions=True)

    async def _save(self, new: dict[int, str]) -> None:
        try:
            async with self._db.uow() as uow:
                await uow.max_ids.remember(new)
        except Exception:
            # The message is already sent: it must not count as failed. Only an edit or a delete of it
            # after a restart is lost (the mapping stays in memory until then).
            log.exception("MAX message ids could not be saved")

    async def mid(self, number: int) -> str | None:
        return (await self.mids([number])).get(number)

    async def mids(self, numbers: Sequence[int]) -> dict[int, str]:
        found = {n: self._cache[n] for n in numbers if n in self._cache}
        missing = [n for n in numbers if n not in found]
        if missing:
            async with self._db.uow() as uow:
                stored = await uow.max_ids.mids(missing)
            self._keep(stored)
            found.update(stored)
        return {n: found[n] for n in numbers if n in found}


# MAX lets a bot delete its own messages at any age (dev.max.ru, DELETE /messages), but the quick exit
# deletes only the last 24 hours (MaxMessenger.traits) from the chat log, which keeps 48 hours: past
# that a mid is needed only to edit or reply to an old message, and both degrade to a new message.
# Cards in MAX chats are kept for good (see storage): taking and closing a request edits its card.
KEPT = timedelta(hours=48)


class PruneMessageIds(Job):
    """Forgets MAX message ids the quick exit can no longer use (a table that would grow for ever)."""

    name = "max-message-ids"

    def __init__(self, db: Database, *, kept: timedelta = KEPT, interval: float = 600.0) -> None:
        super().__init__()
        self._db = db
        self._kept = kept
        self.interval = interval
        self.delay = 60.0  # not at the very start: once the transports have settled

    async def run_once(self, now: datetime) -> int:
        async with self._db.uow() as uow:
            forgotten = await uow.max_ids.prune(now - self._kept)
        if forgotten:
            log.info("forgot %d MAX message ids older than %s", forgotten, self._kept)
        return forgotten
