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
from typing import Protocol

# How long a person's update waits for an earlier one another replica kept and has not handled yet.
# Longer only when that replica died holding it: its update is taken over later (handlers/inbox.py).
ORDER_WAIT = 5.0


class PersonLocks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...


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
