"""Who writes when: the gate to the pool's connections and the process's one SQLite writer.

Units of work (storage/uow.py) and a family's turn on its kept connection (storage/quick.py) take
their places here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.util import await_only

from storage.sqlite_driver import only_reads

T = TypeVar("T")


async def to_the_end(work: Awaitable[T]) -> T:
    """Await ``work`` (a whole unit of work, in a task of its own) to its end even if the caller is
    cancelled meanwhile, any number of times; the cancel is raised after it. For the units of work a
    stop cancels in passing (a poll loop keeping a batch): cut inside its commit or the pool's reset
    of its connection, it left a traceback in the log and the connection unreset."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled():
            task.exception()  # its own failure, if any, is less news than the cancel
        raise asyncio.CancelledError
    return task.result()


class Gate:
    """Units of work take the pool's connections in the order they asked for them, those asked
    ``first`` (an intake's keep of a batch, an emergency's turn) before the rest.

    SQLAlchemy's asyncio pool lets a newcomer take a connection that was just given back before the
    units of work already waiting for one, and a waiter that lost it queues again at the end (its
    ``get`` tries ``get_nowait`` first; asyncio's ``Queue.get`` appends a woken getter that found it
    empty again). In the flood row's 100 first screens one turn in six waited until nearly all the
    others were done. Here a freed place is handed to the first in line, so whoever holds a place
    finds a connection in the pool at once: nothing else takes them (a nested unit of work does not
    pass here, and the pool opens none beyond its size). In the same row, a poll loop's keep of a
    batch waited behind the hundred turns in line, and so did the next ``getUpdates``: it goes first."""

    __slots__ = ("_first", "_free", "_line", "_timeout")

    def __init__(self, size: int, timeout: float) -> None:
        self._free = size
        self._first: deque[asyncio.Future[None]] = deque()
        self._line: deque[asyncio.Future[None]] = deque()
        self._timeout = timeout  # as long as the pool itself would wait, and failing as it would

    async def enter(self, *, first: bool = False) -> None:
        if self._free and not self._first and not self._line:
            self._free -= 1  # a place is free and nobody is in line: no wait
            return
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line = self._first if first else self._line
        line.append(place)
        try:
            async with asyncio.timeout(self._timeout):
                await place
        except BaseException as exc:
            if place.done() and not place.cancelled():
                self.leave()  # handed a place as it was cancelled: the next in line has it
            elif place in line:  # ``leave`` drops a cancelled place it meets first
                line.remove(place)
            if isinstance(exc, TimeoutError):
                raise PoolTimeoutError(
                    f"no connection was free for {self._timeout:.0f} s (units of work in line)"
                ) from None
            raise

    def leave(self) -> None:
        for line in (self._first, self._line):
            while line:
                place = line.popleft()
                if not place.done():
                    place.set_result(None)
                    return
        self._free += 1


_CLAIM = "storage.uow.claim"  # in a connection's ``info`` while a unit of work has it


class Claim:
    """A unit of work's part in the writer: whether it holds it. Its own, not the connection's: the
    connection goes back to the pool, and to another unit of work, before the writer is freed."""

    __slots__ = ("_info", "holds")

    def __init__(self, info: dict[Any, Any]) -> None:
        self._info = info
        self.holds = False

    def unbind(self) -> None:
        """The connection is no longer this unit of work's (before it goes back to the pool)."""
        if self._info.get(_CLAIM) is self:
            del self._info[_CLAIM]


class WriteLock:
    """The process's one SQLite writer; see ``Database``.

    The lock is taken inside SQLAlchemy's synchronous execution (a greenlet under the AsyncSession),
    where ``await_only`` may wait on the event loop, or by a hot statement (storage/prepared.py).
    Each unit of work has its own pooled connection until its close, so the connection's ``info``
    names the unit of work's ``Claim`` meanwhile.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    def bind(self, connection: Connection) -> Claim:
        """Mark the connection as a unit of work's, until ``Claim.unbind``."""
        claim = Claim(connection.info)
        connection.info[_CLAIM] = claim
        return claim

    def before_execute(
        self, conn: Connection, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        claim = conn.info.get(_CLAIM)
        if claim is None or claim.holds or only_reads(statement):
            return  # not a unit of work's (migrations), holds it already, or only reads
        await_only(self.claim(claim))

    async def claim(self, claim: Claim) -> None:
        """The writer for the unit of work of ``claim`` (kept to its end)."""
        if claim.holds:
            return
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            # The same task already writes in another unit of work: waiting here would wait for
            # itself (SQLite would answer "database is locked" after its busy timeout).
            raise RuntimeError("a unit of work nested in another one must not write on SQLite")
        await self._lock.acquire()
        self._owner = task
        claim.holds = True

    def release(self, claim: Claim | None) -> None:
        if claim is not None and claim.holds:
            claim.holds = False
            self._owner = None
            self._lock.release()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """No unit of work writes meanwhile (what runs inside must only read)."""
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                yield
            finally:
                self._owner = None
