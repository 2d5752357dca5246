"""Work in progress that a shutdown must let finish: updates already taken from the platform.

``InFlight`` tracks the turns being handled (the shutdown drains them). ``Bounded`` keeps how many
updates are handled at once under a bound, for every transport (issue 13): past it, updates wait in
order as plain data, not as tasks, so a burst of thousands costs a queue of dicts, not thousands of
tasks each holding a session, a parsed update and its turn's objects.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable
from contextlib import asynccontextmanager
from typing import Any

from handlers.locks import TICKET, Ticket, Tickets

log = logging.getLogger(__name__)

# Updates handled at once by one transport at most. Enough to keep the database and the platform's
# API busy (a turn mostly waits on them); more only adds memory and lock contention in a burst.
MAX_IN_FLIGHT = 200

Work = Callable[[], Coroutine[Any, Any, None]]


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, timeout: float) -> int:  # noqa: ASYNC109 - a deadline for asyncio.wait, not a cancel scope
        """Wait for tracked work (not the caller's own); return how many were still running."""
        pending = {task for task in self._tasks if task is not asyncio.current_task()}
        if not pending:
            return 0
        log.info("waiting for %d updates being handled", len(pending))
        _done, still = await asyncio.wait(pending, timeout=timeout)
        if still:
            log.error("%d updates were still being handled at shutdown", len(still))
        return len(still)


class Bounded:
    """At most ``limit`` updates handled at once; the rest wait in the order given.

    Started in the order submitted; with the person it is from, each gets a ``Ticket`` (handlers/locks.py):
    the person's lock then takes their updates in that order, whatever each awaited before it. Each
    update is submitted under its key once: one already waiting or running here is not taken again
    (the inbox's orphan look may find one that waited long in a burst).

    A poll loop awaits ``room()`` before it asks its platform for more (back-pressure: the burst
    waits at the platform). A webhook does not: the platform's request is answered at once and its
    update waits here (see the transports for why).

    ``tasks``: updates running at most, whoever they are from, on top of ``limit`` slots (VK's and
    MAX's bound on handlers at once, handlers/inbox.py: a person's lane never passes it either).
    """

    def __init__(
        self, name: str, limit: int = MAX_IN_FLIGHT, *, per_person: bool = False, tasks: int | None = None
    ) -> None:
        self.limit = limit
        self._tasks_at_most = tasks
        self._name = name
        self._waiting: deque[tuple[Hashable, Work, str | None]] = deque()
        self._held: set[Hashable] = set()  # keys waiting or running
        self._tasks: set[asyncio.Task[None]] = set()
        self._per_person = per_person
        self._people: Counter[str | None] = Counter()  # running updates per person (None: unknown)
        self._room = asyncio.Event()  # set while running and waiting are under the limit, or stopped
        self._room.set()
        self._stopped = False
        self._tickets = Tickets()
        self.peak = 0  # the most slots taken at once (measured by the tests and the benchmark)

    @property
    def running(self) -> int:
        return len(self._tasks)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def submit(self, key: Hashable, work: Work, person: str | None = None) -> bool:
        """Queue ``work`` (started at once when there is a slot); False when ``key`` is already here
        or the queue stopped (the update stays in the inbox: the next start or another replica).
        ``person`` ("vk:123", as the person's lock is keyed): whose update it is, when known."""
        if self._stopped or key in self._held:
            return False
        self._held.add(key)
        self._waiting.append((key, work, person))
        self._start()
        return True

    async def room(self) -> None:
        """Return once fewer than ``limit`` updates are running or waiting (or the queue stopped)."""
        await self._room.wait()

    def slots(self) -> int:
        """Slots taken: one per running update; ``per_person``, one per person with updates running
        (and one per running update of no known person). One update of a person is handled at a time
        anyway (the person's lock): with lanes in front (handlers/lane_queue.py),
        what a lane lets in runs together so the flood gate merges it, and takes one slot, not the
        slots the other families need (issue 13)."""
        if not self._per_person:
            return len(self._tasks)
        return len(self._people) - (None in self._people) + self._people[None]

    def _start(self) -> None:
        while self._waiting and not self._stopped:
            key, work, person = self._waiting[0]
            joins = self._per_person and person is not None and self._people[person] > 0
            if self.slots() >= self.limit and not joins:
                break
            if self._tasks_at_most is not None and len(self._tasks) >= self._tasks_at_most:
                break
            self._waiting.popleft()
            ticket = self._tickets.take(person) if person is not None else None
            task = asyncio.create_task(self._run(work, ticket), name=self._name)
            self._tasks.add(task)
            self._people[person] += 1
            task.add_done_callback(functools.partial(self._done, key=key, person=person))
        self.peak = max(self.peak, self.slots())
        if self._stopped or self.slots() + len(self._waiting) < self.limit:
            self._room.set()
        else:
            self._room.clear()

    async def _run(self, work: Work, ticket: Ticket | None) -> None:
        if ticket is None:
            await work()
            return
        TICKET.set(ticket)
        try:
            await work()
        finally:
            self._tickets.done(ticket)

    def _done(self, task: asyncio.Task[None], key: Hashable, person: str | None) -> None:
        self._tasks.discard(task)
        self._held.discard(key)
        self._people[person] -= 1
        if person is not None and not self._people[person]:
            del self._people[person]
        if not task.cancelled() and (exc := task.exception()) is not None:
            # The work catches its own failures; one escaping is a bug, not a reason to stop the rest.
            log.error("an update's handling failed", exc_info=exc)
        self._start()

    def stop(self) -> None:
        """Start nothing more. What still waits is left in the inbox: the next start handles it first
        (another replica takes it over after ``ORPHAN_AFTER``), so a stop in a burst is not held up by
        a thousand updates, and none is lost: each was kept before the platform was answered."""
        self._stopped = True
        if self._waiting:
            log.info("%d %s updates left in the inbox for the next start", len(self._waiting), self._name)
            for key, _work, _person in self._waiting:
                self._held.discard(key)
            self._waiting.clear()
        self._room.set()  # a poll loop waiting for room goes on to see that it stops

    async def finish(self) -> None:
        """At a stop: start nothing more, and wait for what runs."""
        self.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
