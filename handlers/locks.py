"""One update of a person at a time: their albums and fast taps are handled in order.

``KeyedLocks`` orders them in one process. With several replicas (``REDIS_URL``), ``SharedLocks``
adds a lock that all replicas share (bot/ supplies it): the local lock first keeps this process's
order, the shared one keeps two replicas off the same person at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

# How long a person's update waits for an earlier one another replica kept and has not handled yet.
# Longer only when that replica died holding it: its update is taken over later (handlers/inbox.py).
ORDER_WAIT = 5.0


class PersonLocks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...


@dataclass(eq=False)
class Ticket:
    """An update's place among the same person's updates handed on in this process."""

    person: str
    prior: Ticket | None  # the person's update handed on just before this one, until this one passes
    passed: asyncio.Event = field(default_factory=asyncio.Event)  # set at ``in_turn``, or when done


# The ticket of the update this task handles (set by the transport's queue, handlers/inflight.py).
TICKET: ContextVar[Ticket | None] = ContextVar("person_ticket", default=None)


class Tickets:
    """Per person, the order in which their updates were handed on.

    Starting them in order does not keep them in order by itself: what a handler awaits before the
    turn (a MAX message id written, a blocked flag cleared, the admins read again) lets a later
    update overtake an earlier one. With a ticket, an update passes ``in_turn`` (just before the
    turn: the flood gate, then the person's lock) only after the one before it passed; from there
    nothing is awaited before the lock's queue, so the lock takes them in order. Passing, not
    finishing: a flooding person's texts still pile up behind the turn in hand (handlers/flood.py).
    """

    def __init__(self) -> None:
        self._last: dict[str, Ticket] = {}

    def take(self, person: str) -> Ticket:
        ticket = Ticket(person, self._last.get(person))
        self._last[person] = ticket
        return ticket

    def done(self, ticket: Ticket) -> None:
        ticket.passed.set()  # one that never reached a turn (a group message, a failure) holds none up
        ticket.prior = None
        if self._last.get(ticket.person) is ticket:
            del self._last[ticket.person]


async def in_turn(person: str) -> None:
    """Wait until the person's update handed on before this one passed, then pass (a no-op for an
    update without a ticket, or with another person's: a turn the system starts)."""
    ticket = TICKET.get()
    if ticket is None or ticket.person != person or ticket.passed.is_set():
        return
    if ticket.prior is not None:
        await ticket.prior.passed.wait()
    ticket.prior = None
    ticket.passed.set()


class KeyedLocks:
    def __init__(self) -> None:
        # key -> (lock, how many handlers hold or wait for it); dropped when nobody does.
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class SharedLocks:
    """This process's order, then the replicas' shared lock (``shared(key)``)."""

    def __init__(self, shared: Callable[[str], AbstractAsyncContextManager[object]]) -> None:
        self._local = KeyedLocks()
        self._shared = shared

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key), self._shared(key):
            yield


@asynccontextmanager
async def in_order(
    locks: PersonLocks,
    key: str,
    earlier: Callable[[], Awaitable[bool]],
    *,
    wait: float = ORDER_WAIT,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[None]:
    """The person's lock, taken once no earlier update of theirs is still unhandled (``earlier``).

    The lock alone keeps two replicas off one person at once; it does not order them: the second of
    two quick messages may reach the other replica and win the lock first. So the winner looks at
    the inbox, and while an earlier update of the same person waits there, it lets the lock go and
    tries again shortly (at most ``wait`` seconds: then a replica that died holding one is not
    waited for).
    """
    deadline = clock() + wait
    delay = 0.02
    while True:
        async with locks.hold(key):
            if clock() >= deadline or not await earlier():
                yield
                return
        await sleep(delay)
        delay = min(delay * 2, 0.25)
