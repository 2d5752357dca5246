"""The inbox use-case: what a transport took from its platform is kept before it is acknowledged.

A transport calls ``accept`` with a whole batch (one short transaction, with its cursor when it has
one) and only then acknowledges it to the platform; it hands each update on, and says ``handled``
when the handler returned. A restart starts with ``pending``: what was taken but not finished.
Marking rows handled is batched (a job flushes them), so a burst costs no extra transaction per
update; a crash before a flush only replays updates that are already recorded as processed (their
turn is not repeated; an answer not yet sent is sent).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from handlers.background import Job
from handlers.inflight import MAX_IN_FLIGHT
from handlers.lane_queue import LaneQueue
from storage.uow import Database
from storage.vocabulary import Platform
from storage.writer import to_the_end

log = logging.getLogger(__name__)

ORPHAN_AFTER = 30.0  # seconds: an update still unfinished after this was left by a process that died
Feed = Callable[[int, dict[str, Any]], None]
# Whose update it is ("tg:123") and, where the platform numbers them in order, its number.
Order = Callable[[int, dict[str, Any]], tuple[str | None, int | None]]
# The inbox key of the update this task is handling (set by the transport's feed): a turn uses it to
# wait for the same person's earlier updates (ConversationService, with several replicas).
KEPT: ContextVar[int | None] = ContextVar("kept_update", default=None)


class Inbox(Job):
    name = "inbox"
    interval = 0.5  # how stale the "handled" marks may get; a crash replays at most this much

    def __init__(self, db: Database, *, orphan_after: float = ORPHAN_AFTER) -> None:
        super().__init__()
        self._db = db
        self._handled: list[tuple[str, int]] = []
        self._feeds: dict[Platform, Feed] = {}
        self._orphan_after = timedelta(seconds=orphan_after)
        self._fed: dict[tuple[str, int], datetime] = {}  # orphans this process fed, and when
        self._next_look: datetime | None = None
        self._orders: dict[Platform, Order] = {}
        self._last_seq = 0

    def order_by(self, platform: Platform, order: Order) -> None:
        """How a transport says whose an update is: with several replicas, a person's later update
        waits for the earlier ones kept by any replica (ConversationService, ``ordered``)."""
        self._orders[platform] = order

    def _places(
        self, platform: Platform, updates: Sequence[tuple[int, dict[str, Any]]]
    ) -> list[tuple[str | None, int | None]] | None:
        order = self._orders.get(platform)
        if order is None:
            return None
        places: list[tuple[str | None, int | None]] = []
        for update_id, raw in updates:
            person, seq = order(update_id, raw)
            if seq is None:
                # No number from the platform: the order in which updates were kept (microseconds,
                # strictly increasing in this process; replicas' clocks are assumed in step).
                self._last_seq = max(self._last_seq + 1, time.time_ns() // 1000)
                seq = self._last_seq
            places.append((person, seq))
        return places

    def register(self, platform: Platform, feed: Feed) -> None:
        """How a transport takes an update back: for orphans another replica left (see run_once)."""
        self._feeds[platform] = feed

    async def accept(
        self,
        platform: Platform,
        updates: Sequence[tuple[int, dict[str, Any]]],
        *,
        cursor: tuple[str, str] | None = None,
    ) -> None:
        """Keep a batch (and the transport's new position, if it keeps one) before acknowledging it.
        A stop cancelling the poll loop meanwhile waits for the batch's transaction to end."""
        places = self._places(platform, updates)

        async def keep() -> None:
            # Ahead of the turns waiting for a connection: the next fetch waits for this keep.
            async with self._db.uow(first=True) as uow:
                await uow.inbox.accept(platform, updates, places)
                if cursor is not None:
                    await uow.cursors.save(*cursor)

        await to_the_end(keep())

    async def pending(self, platform: Platform) -> list[tuple[int, dict[str, Any]]]:
        async with self._db.uow() as uow:
            rows = await uow.inbox.pending(platform)
        if rows:
            log.info("%d %s updates taken before a stop are handled first", len(rows), platform.value)
        return [(row.update_id, dict(row.raw)) for row in rows]

    def handled(self, platform: Platform, update_id: int) -> None:
        self._handled.append((platform.value, update_id))

    async def run_once(self, now: datetime) -> int:
        """Forget what was handled (in one transaction for all of it), and now and then take over
        orphans: updates kept long ago and never finished, by a replica that died since."""
        await self._forget()
        if self._feeds and (self._next_look is None or now >= self._next_look):
            self._next_look = now + self._orphan_after / 3
            await self._adopt(now)
        return 0  # nothing more is due until new updates are handled

    async def _adopt(self, now: datetime) -> None:
        before = now - self._orphan_after
        self._fed = {key: at for key, at in self._fed.items() if at > before}
        async with self._db.uow() as uow:
            orphans = await uow.inbox.older_than(before)
        # Handled here since the flush above (a burst's queue makes old rows finish all the time):
        # not orphans, only not yet marked.
        finished = set(self._handled)
        for row in orphans:
            key = (row.platform, row.update_id)
            feed = self._feeds.get(Platform(row.platform))
            if feed is None or key in self._fed or key in finished:
                continue
            # Handled once whoever takes it: the processed-updates log and the person's lock decide.
            log.info("taking over a %s update another process kept and did not finish", row.platform)
            self._fed[key] = now
            feed(row.update_id, dict(row.raw))

    async def flush(self) -> None:
        """At shutdown, after the drain."""
        await self._forget()

    async def _forget(self) -> None:
        done, self._handled = self._handled, []
        if not done:
            return
        try:
            async with self._db.uow() as uow:
                await uow.inbox.done(done)
        except Exception:
            self._handled[:0] = done  # tried again at the next tick
            raise


class InboxFeed:
    """A transport's side of the inbox: keep a batch before acknowledging it (trying again while the
    database is down), then hand each update on, each marked handled only when its handler succeeded.

    Each sender's updates go through a lane of their own (handlers/lane_queue.py, as Telegram's): a
    flooder's updates wait there as data and go in a turn's worth at a time, sharing the person's one
    slot and ticket (their lock keeps them in order; the flood gate merges them), so the others' updates
    are not held up behind them. ``urgent`` says which update is an emergency, never held back behind a
    flood; a long poll says with ``caught_up`` whether VK or MAX still holds more (a webhook: never
    behind). At most ``max_in_flight`` updates are handled at once, whoever sent them (a lane too): the
    rest wait in order, kept in the inbox. A poll loop calls ``room`` before it asks for more; what a
    restart or the orphan look feeds goes through the same lanes and bound."""

    retry_delay = 1.0
    max_in_flight = MAX_IN_FLIGHT
    max_held = 2000  # updates taken and not ended at most (running, or waiting in a lane or for a slot)

    def __init__(
        self,
        inbox: Inbox,
        platform: Platform,
        handle: Callable[[dict[str, Any]], Awaitable[bool]],
        *,
        order: Order | None = None,
        urgent: Callable[[dict[str, Any]], bool] = lambda _raw: False,
        hurry: Callable[[str], None] | None = None,
    ) -> None:
        if order is not None:
            inbox.order_by(platform, order)
        self._inbox = inbox
        self._platform = platform
        self._handle = handle
        self._order = order
        self._intake: LaneQueue[tuple[int, dict[str, Any]]] = LaneQueue(
            f"{platform.value}-update",
            key=lambda update: update[0],
            run=lambda update: self._run(*update),
            urgent=lambda update: urgent(update[1]),
            limit=self.max_in_flight,
            max_held=self.max_held,
            tasks=self.max_in_flight,
            hurry=hurry,
        )

    async def keep(
        self, batch: Sequence[tuple[int, dict[str, Any]]], *, cursor: tuple[str, str] | None = None
    ) -> None:
        while True:
            try:
                await self._inbox.accept(self._platform, batch, cursor=cursor)
                return
            except Exception:
                log.exception("could not keep %s updates in the inbox; retrying", self._platform.value)
                await asyncio.sleep(self.retry_delay)

    async def replay(self) -> None:
        """What was kept before the last stop and not finished goes first; orphans come through here."""
        self._inbox.register(self._platform, self.spawn)
        for key, raw in await self._inbox.pending(self._platform):
            self.spawn(key, raw)

    def spawn(self, key: int, raw: dict[str, Any]) -> None:
        """Into its sender's lane: handled now if there is room, else after the updates before it."""
        person = self._order(key, raw)[0] if self._order is not None else None
        self._intake.add(person, (key, raw))

    def caught_up(self, caught_up: bool) -> None:
        """A long poll's last answer took everything the platform held (False: it may hold more)."""
        self._intake.caught_up(caught_up)

    async def room(self) -> None:
        """Back-pressure for a poll loop: wait while the bounds are full (running and waiting)."""
        await self._intake.room()

    async def _run(self, key: int, raw: dict[str, Any]) -> None:
        KEPT.set(key)
        if await self._handle(raw):
            self._inbox.handled(self._platform, key)

    def stop(self) -> None:
        """The transport stopped listening: what waits stays in the inbox for the next start."""
        self._intake.stop()

    async def finish(self) -> None:
        """After the transport stopped listening: the updates being handled are finished."""
        await self._intake.finish()
