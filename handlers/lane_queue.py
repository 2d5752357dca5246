"""How every transport hands its updates to the handlers: lanes in front of the bounded queue.

Each sender's updates wait in a lane of their own (handlers/lanes.py): a flooder's 500 wait there as
plain data, a turn's worth let in at a time, while the others' go straight in. What a lane lets in
waits for a slot in the bounded queue (handlers/inflight.py), a person's updates sharing one slot,
each with the person's ticket. A poll loop awaits ``room`` before it asks its platform for more:
while as many people's updates are in hand as allowed, or as many updates are held as memory allows,
the rest waits at the platform (and no lane is held back then: nothing more is fetched until updates
end, so no one's later updates can come to go first).

An update is taken once while it is here (a restart's or an orphan's feed of one already waiting in
its lane is not taken twice). After ``stop`` nothing more is started: what still waits, in a lane or
for a slot, stays in the inbox for the next start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from handlers.inflight import Bounded
from handlers.lanes import Lanes

T = TypeVar("T")


class LaneQueue(Generic[T]):
    def __init__(
        self,
        name: str,
        *,
        key: Callable[[T], Hashable],
        run: Callable[[T], Awaitable[None]],
        urgent: Callable[[T], bool],
        limit: int,
        max_held: int,
        tasks: int | None = None,
        hurry: Callable[[str], None] | None = None,
    ) -> None:
        self._key = key  # an update's key in the inbox
        self._run = run  # the handler; it catches its own failures
        self._limit = limit  # people whose updates are in hand at most
        self._max_held = max_held  # updates held at most, whoever sent them: what a flood cannot pass
        self.queue = Bounded(name, limit, per_person=True, tasks=tasks)
        self._lanes: Lanes[T, str] = Lanes(self._start, urgent, hurry)
        self._here: set[Hashable] = set()  # keys in a lane, waiting for a slot or running
        self._room = asyncio.Event()  # set while both bounds leave room
        self._room.set()
        self._stopped = False

    def add(self, person: str | None, update: T) -> None:
        """Into ``person``'s lane ("vk:123", as the person's lock is keyed; None: a slot of its own)."""
        key = self._key(update)
        if self._stopped or key in self._here:
            return
        self._here.add(key)
        self._lanes.add(person, update)
        self._room_or_not()

    def caught_up(self, caught_up: bool) -> None:
        """Whether the transport's last fetch took everything the platform held (handlers/lanes.py);
        a webhook never says otherwise."""
        self._lanes.caught_up(caught_up)

    async def room(self) -> None:
        """Back-pressure for a poll loop: return once both bounds leave room (or the queue stopped)."""
        await self._room.wait()
        await self.queue.room()

    def _start(self, update: T, person: str | None) -> None:
        """A lane lets ``update`` in: it waits in the bounded queue for a slot, with its person's ticket."""
        if not self.queue.submit(self._key(update), lambda: self._handle(update, person), person):
            self._ended(update, person)  # the queue stopped: it stays in the inbox

    async def _handle(self, update: T, person: str | None) -> None:
        try:
            await self._run(update)
        finally:
            self._ended(update, person)

    def _ended(self, update: T, person: str | None) -> None:
        self._here.discard(self._key(update))
        if self._stopped:
            return  # what waits in the lane is not let in any more: it stays in the inbox
        self._lanes.done(person)
        self._room_or_not()

    def _room_or_not(self) -> None:
        lanes = self._lanes
        if self._stopped or (lanes.in_flight() < self._limit and lanes.held() < self._max_held):
            self._room.set()
        else:
            self._room.clear()
            lanes.caught_up(True)  # nothing more is fetched until updates end: no one to wait for

    def stop(self) -> None:
        """Start nothing more; what waits stays in the inbox for the next start."""
        self._stopped = True
        self._here.clear()
        self.queue.stop()
        self._room.set()  # a poll loop waiting for room goes on to see that it stops

    async def finish(self) -> None:
        """At a stop: start nothing more, and wait for what runs."""
        self.stop()
        await self.queue.finish()
