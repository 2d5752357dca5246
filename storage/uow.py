"""Unit of work: one transaction per use-case, with every repository bound to it."""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Connection, event, text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import await_only, greenlet_spawn

from storage.admins import AdminsRepository
from storage.appointments import AppointmentsRepository
from storage.broadcasts import BroadcastsRepository
from storage.db import session_factory
from storage.desk import (
    AuditLog,
    BindingsRepository,
    ChatMigrations,
    MembersRepository,
    PostsRepository,
    RelayLog,
)
from storage.figures import FiguresRepository
from storage.followups import FollowUpsRepository
from storage.inbox import InboxRepository
from storage.logs import ChatLog, OutboxRepository, UpdateLog
from storage.moderation import ModerationRepository
from storage.prepared import LANE, Lane
from storage.repositories import (
    CursorStore,
    DialogStateStore,
    MaxMessageIds,
    PeopleRepository,
    TicketsRepository,
)
from storage.resources import ResourcesRepository
from storage.retention import RetentionRepository
from storage.sqlite_driver import OneTripConnection, only_reads
from storage.stats import StatsRepository

T = TypeVar("T")
# The WAL's size (pages) past which a checkpoint holds the writers to start it over: SQLite's own
# default for its checkpoint on commit, which the connections do not do (storage/db.py).
WAL_PAGES = 1000


class _Open:
    """The outermost unit of work the code running now is in, while it is open. A task started
    inside one carries it, and sees it closed once that unit of work ends."""

    __slots__ = ("open",)

    def __init__(self) -> None:
        self.open = True


_IN_UOW: ContextVar[_Open | None] = ContextVar("storage.uow.in_unit_of_work", default=None)


def in_unit_of_work() -> bool:
    """True inside ``Database.uow``, or in a task started there while that unit of work is open: a
    second unit of work opened here would be nested in it (on SQLite it may not write, and it needs
    a second of the pool's connections)."""
    outer = _IN_UOW.get()
    return outer is not None and outer.open


class UnitOfWork:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.people = PeopleRepository(session)
        self.tickets = TicketsRepository(session)
        self.outbox = OutboxRepository(session)
        self.dialogs = DialogStateStore(session)
        self.updates = UpdateLog(session)
        self.chat_log = ChatLog(session)
        self.posts = PostsRepository(session)
        self.audit = AuditLog(session)
        self.relay = RelayLog(session)
        self.migrations = ChatMigrations(session)
        self.bindings = BindingsRepository(session)
        self.cursors = CursorStore(session)
        self.inbox = InboxRepository(session)
        self.stats = StatsRepository(session)
        self.max_ids = MaxMessageIds(session)
        self.followups = FollowUpsRepository(session)
        self.appointments = AppointmentsRepository(session)
        self.resources = ResourcesRepository(session)
        self.figures = FiguresRepository(session)
        self.broadcasts = BroadcastsRepository(session)
        self.members = MembersRepository(session)
        self.moderation = ModerationRepository(session)
        self.admins = AdminsRepository(session)
        self.retention = RetentionRepository(session)


class Database:
    """Owns the session factory; ``async with db.uow() as uow`` commits on success, rolls back on error.

    On SQLite, writes are serialised in the process (DESIGN.md): a unit of work takes the database's
    one write lock, an ``asyncio.Lock``, just before its first write statement and keeps it until its
    commit or rollback. Pooled connections then never meet on SQLite's own lock, whose busy handler
    sleeps and retries (a burst of families spent most of its time asleep there). Reads take no lock:
    WAL lets them run beside the writer. PostgreSQL keeps its pool and its own row locks.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions: async_sessionmaker[Any] = session_factory(engine)
        self._writer: WriteLock | None = None
        if engine.dialect.name == "sqlite":
            self._writer = WriteLock()
            event.listen(engine.sync_engine, "before_cursor_execute", self._writer.before_execute)
        pool = engine.sync_engine.pool
        self._gate = Gate(pool.size(), pool.timeout()) if isinstance(pool, QueuePool) else None

    @asynccontextmanager
    async def uow(self, *, quick: bool = False, first: bool = False) -> AsyncIterator[UnitOfWork]:
        """``quick``: a unit of work of a few short statements keyed by a person (a family's turn);
        on a SQLite file they run on the event loop's thread (storage/sqlite_driver.py). ``first``:
        ahead of the others waiting for a connection (``Gate``)."""
        # A unit of work nested in another that is open (or in a task started inside it) does not
        # queue at the gate: it would wait for a place its own caller may hold. It meets the pool as
        # before. A task started inside one that has ended since queues like any other.
        nested = in_unit_of_work()
        gate = None if nested else self._gate
        mine = None if nested else _Open()
        inside = _IN_UOW.set(mine) if mine is not None else None
        try:
            if gate is not None:
                await gate.enter(first=first)
            try:
                if self._writer is None:
                    async with self._sessions() as session, session.begin():
                        yield UnitOfWork(session)
                    return
                async with self._sqlite(self._writer, quick) as session:
                    yield UnitOfWork(session)
            finally:
                if gate is not None:
                    gate.leave()  # the connection is back in the pool: the next in line finds it
        finally:
            if mine is not None:
                mine.open = False
            if inside is not None:
                _IN_UOW.reset(inside)
        if self._writer is not None:
            # The event loop's other tasks go next: a quick unit of work may never have waited (its
            # statements and commit on the loop, the writer free, a connection ready), and writers
            # back to back would keep the loop (the WAL's checkpoint job, tests/test_sqlite_driver.py).
            await asyncio.sleep(0)

    @asynccontextmanager
    async def _sqlite(self, writer: WriteLock, quick: bool) -> AsyncIterator[AsyncSession]:
        """A SQLite unit of work's session: begun, committed (or rolled back) and closed as
        ``async with session.begin()`` does, in three hand-overs to SQLAlchemy's synchronous side
        instead of five (a family's turn: 5% of the bot's CPU in a burst went to them).

        The connection goes back to the pool at the close, where another unit of work may take it
        at once: everything this one set on it is undone before, and the writer freed after."""
        session = self._sessions()
        sync = session.sync_session
        claim: Claim | None = None
        driver: Any = None
        committed = False
        try:
            connection: Connection = await greenlet_spawn(sync.connection)  # the transaction begins
            claim = writer.bind(connection)
            driver = connection.connection.driver_connection  # checked out just now: no I/O
            if isinstance(driver, OneTripConnection):
                driver.on_loop = quick
                # The hot statements' way to the connection (storage/prepared.py).
                hold = functools.partial(writer.claim, claim)
                session.info[LANE] = Lane(driver, self.engine.dialect, hold, sync.get_transaction())
            yield session
            await greenlet_spawn(sync.commit)
            committed = True
        finally:
            session.info.pop(LANE, None)
            if isinstance(driver, OneTripConnection):
                driver.on_loop = False
            if claim is not None:
                claim.unbind()
            try:
                if committed:
                    await greenlet_spawn(sync.close)  # nothing to wait for: the pool has it back
                else:
                    # Rolls the transaction back, to its end even if cancelled meanwhile.
                    await to_the_end(greenlet_spawn(sync.close))
            finally:
                # After the commit or the rollback: the next writer finds the file unlocked.
                writer.release(claim)

    async def checkpoint(self) -> int:
        """SQLite: copy what the WAL holds into the database file, off the event loop; the number of
        pages it could not copy yet (readers still use them: the next checkpoint will). PASSIVE: it
        waits for no reader, and for no writer unless the WAL has grown past ``WAL_PAGES``. The
        connections never do it on commit (storage/db.py); a job calls this every second
        (handlers/housekeeping.py). PostgreSQL: nothing to do, 0."""
        if self._writer is None:
            return 0
        pages, copied = await self._checkpoint(holding=None)
        if pages >= WAL_PAGES:
            # SQLite starts the WAL over only at a write that follows a checkpoint which copied all
            # of it; in a burst a write lands during every checkpoint, and the WAL would only grow
            # (measured: 120 MB in 8 s). Once more with this process's writers held (milliseconds:
            # little is left to copy), so that the next write starts it over, as SQLite's own
            # checkpoint on commit did under the same lock.
            pages, copied = await self._checkpoint(holding=self._writer)
        return max(pages - copied, 0)

    async def _checkpoint(self, *, holding: WriteLock | None) -> tuple[int, int]:
        """PASSIVE: waits for no reader; the WAL's pages, and how many of them are in the file.
        ``holding``: the writers' lock, held meanwhile."""
        async with self.uow() as uow:
            # The connection first: the pool's may all be held by writers waiting for the lock.
            await uow.session.connection()
            async with holding.held() if holding is not None else nullcontext():
                result = await uow.session.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))
                _busy, pages, copied = result.one()
        return int(pages), int(copied)

    async def dispose(self) -> None:
        await self.engine.dispose()


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
