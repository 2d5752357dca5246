"""Unit of work: one transaction per use-case, with every repository bound to it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import greenlet_spawn

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
from storage.quick import QuickLane
from storage.repositories import (
    CursorStore,
    DialogStateStore,
    MaxMessageIds,
    PeopleRepository,
    TicketsRepository,
)
from storage.resources import ResourcesRepository
from storage.retention import RetentionRepository
from storage.sqlite_driver import OneTripConnection
from storage.stats import StatsRepository
from storage.writer import Claim, Gate, WriteLock, to_the_end

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
        self._gate: Gate | None = None
        self._lane: QuickLane | None = None
        if isinstance(pool, QueuePool):
            size = pool.size()
            if self._writer is not None:
                # A SQLite file: families' turns on a connection of their own (storage/quick.py),
                # which the pool lends it for good.
                self._lane = QuickLane(engine, self._sessions, self._writer, pool.timeout())
                size -= 1
            self._gate = Gate(size, pool.timeout())

    @asynccontextmanager
    async def uow(self, *, quick: bool = False, first: bool = False) -> AsyncIterator[UnitOfWork]:
        """``quick``: a unit of work of a few short statements keyed by a person (a family's turn);
        on a SQLite file they run on the event loop's thread (storage/sqlite_driver.py), on the
        connection kept for such turns (storage/quick.py). ``first``: ahead of the others waiting for
        a connection (``Gate``)."""
        # A unit of work nested in another that is open (or in a task started inside it) does not
        # queue at the gate: it would wait for a place its own caller may hold. It meets the pool as
        # before. A task started inside one that has ended since queues like any other.
        nested = in_unit_of_work()
        lane = self._lane if quick and not nested else None
        if lane is not None and not await lane.usable():
            lane = None
        gate = None if nested else lane.gate if lane is not None else self._gate
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
                async with lane.unit() if lane is not None else self._sqlite(self._writer, quick) as session:
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
        if self._lane is not None:
            await self._lane.close()
        await self.engine.dispose()
