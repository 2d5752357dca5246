"""A family's turn on a SQLite file: one connection kept for such turns, and SQLAlchemy's
transaction only where the turn needs one.

A turn of a family is a few statements by key, each a hot statement (storage/prepared.py) run
straight on the connection, on the event loop's thread. Yet each unit of work still paid for
SQLAlchemy's side of a transaction: a session's connection taken from the pool and given back, a
transaction begun, committed and closed, each in a hand-over to SQLAlchemy's synchronous side (a
greenlet). Measured on the development machine, in one process: an empty unit of work cost 97 µs
of CPU, one with a single write 150 µs, a new family's whole /start about 450 µs (now 18, 52 and
about 400 µs; in a burst with the emulator, bench.burst, 1.00-1.19 -> 0.78-0.85 ms an update).

Here such units of work take turns on one connection, kept for them (``QuickLane``). A unit of
work's session is bound to it; what the session never began, it need not end: when the turn ran only
hot statements (and changed no object of the session), the connection commits on the loop, with no
hand-over and no pool. When anything went through the session (a query of its own, an object changed,
a flush), SQLAlchemy began its transaction on the same connection, where the hot statements are too,
and it commits everything, as before. Either way one transaction, one commit.

A SQLite unit of work writes only while it holds the process's one writer (storage/writer.py); a
family's turn writes at its first statement. Turns took their turns at the writer anyway; now they
take them at the lane, where an emergency's goes first (``Gate``). A unit of work nested in another
does not pass here (storage/uow.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from storage.prepared import LANE, Lane, as_sqlalchemys, clean
from storage.sqlite_driver import OneTripConnection
from storage.writer import Gate, WriteLock, to_the_end

log = logging.getLogger(__name__)

Kept = tuple[AsyncConnection, Connection, OneTripConnection]


class QuickLane:
    """The connection kept for the quick units of work of a SQLite file, one at a time."""

    def __init__(
        self, engine: AsyncEngine, sessions: async_sessionmaker[Any], writer: WriteLock, timeout: float
    ) -> None:
        self.gate = Gate(1, timeout)
        self._engine = engine
        self._sessions = sessions
        self._writer = writer
        self._opening = asyncio.Lock()
        self._kept: Kept | None = None
        self._usable: bool | None = None  # None: not known until a first connection is opened

    async def usable(self) -> bool:
        """A SQLite file's own driver's connection can be kept (found out once, by opening one)."""
        if self._usable is None:
            async with self._opening:
                if self._usable is None:
                    self._kept = await self._open()
                    self._usable = self._kept is not None
        return bool(self._usable)

    async def _open(self) -> Kept | None:
        connection = await self._engine.connect()
        bound = connection.sync_connection
        driver = None if bound is None else bound.connection.driver_connection
        if bound is not None and isinstance(driver, OneTripConnection):
            return connection, bound, driver
        await connection.close()  # a memory database or a URI's options: the pool, as before
        return None

    async def _connection(self) -> Kept:
        """The kept connection, another if it broke (or after ``close``); under the lane's place."""
        kept = self._kept
        if kept is not None and (_broken(kept[1]) or _left_open(kept)):
            # Never left open by a turn that ended (tested), unless its rollback failed: the pool's
            # reset then rolls it back, or drops a connection it cannot, as for any connection.
            await to_the_end(self._drop(kept))
            kept = None
        if kept is None:
            kept = await self._open()
            if kept is None:
                raise RuntimeError("the lane's connection is no longer a SQLite file's own")
            self._kept = kept
        return kept

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        """A unit of work's session on the kept connection; its place (``gate``) is held already."""
        kept = await self._connection()
        connection, bound, driver = kept
        session = self._sessions(bind=connection)
        sync = session.sync_session
        claim = self._writer.bind(bound)
        driver.on_loop = True
        hold = functools.partial(self._writer.claim, claim)
        session.info[LANE] = Lane(driver, self._engine.dialect, hold, None)
        ended = False
        try:
            yield session
            if bound.get_transaction() is not None or not clean(session):
                # SQLAlchemy began a transaction on the connection (or will, to flush): the hot
                # statements' writes are in it, and its commit is theirs.
                await greenlet_spawn(_commit_and_close, sync)
            else:
                await _commit(driver, self._engine)
                sync.close()  # it holds no connection: nothing to hand over
            ended = True
        finally:
            session.info.pop(LANE, None)
            driver.on_loop = False
            claim.unbind()
            try:
                if not ended:
                    await to_the_end(_roll_back(sync, bound, driver))
            finally:
                sync.bind = None  # a session used after its unit of work must not reach the connection
                self._writer.release(claim)
                if _broken(bound):
                    await to_the_end(self._drop(kept))

    async def _drop(self, kept: Kept) -> None:
        """A kept connection that broke (or was left with a transaction open): back to the pool,
        whose reset rolls back what is left or drops the connection; the next turn opens another."""
        if self._kept is kept:
            self._kept = None
        log.warning("the connection kept for families' turns was dropped; the next turn opens another")
        try:
            await kept[0].close()
        except Exception:
            log.debug("closing the broken connection failed", exc_info=True)

    async def close(self) -> None:
        """Its connection back to the pool (``Database.dispose``), once the turn in hand has ended
        (closed under it, its writes so far were rolled back and the rest committed: found by
        review); a later turn opens another. A turn that does not end within the pool's timeout
        keeps it: what it leaves open is rolled back when the process ends."""
        try:
            await self.gate.enter(first=True)
        except PoolTimeoutError:
            log.warning("a family's turn still holds its connection at the stop; it is left to it")
            return
        try:
            kept, self._kept = self._kept, None
            if kept is not None:
                await kept[0].close()
        finally:
            self.gate.leave()


def _broken(bound: Connection) -> bool:
    return bound.invalidated or bound.closed


def _left_open(kept: Kept) -> bool:
    """A transaction still open on the connection: SQLAlchemy's, or the statements' own."""
    _connection, bound, driver = kept
    return bound.get_transaction() is not None or not driver.settled()


def _commit_and_close(sync: Session) -> None:
    """On SQLAlchemy's side, in one hand-over."""
    sync.commit()
    sync.close()


async def _commit(driver: OneTripConnection, engine: AsyncEngine) -> None:
    """What the hot statements wrote, committed on the loop (storage/sqlite_driver.py)."""
    try:
        await driver.commit()
    except sqlite3.Error as exc:
        raise as_sqlalchemys("COMMIT", exc, engine.dialect) from exc


async def _roll_back(sync: Session, bound: Connection, driver: OneTripConnection) -> None:
    """Everything the unit of work wrote, undone: SQLAlchemy's transaction (the hot statements'
    writes are in it), even one whose commit failed (SQLAlchemy leaves it on the connection,
    inactive, for a rollback), and the statements' own, after what a cancelled one left on the
    connection's thread. A connection that broke has nothing left to undo."""
    try:
        if bound.get_transaction() is not None:
            await greenlet_spawn(_close_and_roll_back, sync, bound)
        else:
            sync.close()  # it holds no connection: nothing to hand over
    finally:
        if not _broken(bound):
            await driver.rollback()


def _close_and_roll_back(sync: Session, bound: Connection) -> None:
    try:
        sync.close()
    finally:
        if bound.get_transaction() is not None:
            bound.rollback()
