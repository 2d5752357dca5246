"""One update of a person at a time: their albums and fast taps are handled in order.

``KeyedLocks`` orders them in one process. With several replicas (``REDIS_URL``), ``SharedLocks``
adds a lock that all replicas share (bot/ supplies it): the local lock first keeps this process's
order, the shared one keeps two replicas off the same person at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


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
