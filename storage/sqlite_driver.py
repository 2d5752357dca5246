"""aiosqlite with one trip to its thread per statement, not four.

aiosqlite runs every DB-API call on the connection's own thread: SQLAlchemy's adapter asks for a
cursor, executes, fetches and closes it, each a trip there and back (a queue put, a thread wake-up,
``call_soon_threadsafe`` waking the event loop). A profile of a burst of new families (bench.burst)
spent a quarter of the bot's CPU in those trips, far more than in SQLite itself. Here a cursor does
all four in one trip: the statement runs, its rows are read whole (SQLAlchemy's adapter reads them
whole anyway), and the sqlite3 cursor is closed before the answer comes back.

Only file databases use it (``create_engine``); everything else about aiosqlite stays as it is.

A unit of work of short statements keyed by a person (a family's turn, not an admin's:
``Database.uow(quick=True)``, on the connection kept for such turns: storage/quick.py) makes no
trip at all: its statements run on the event loop's own
thread, where SQLite takes a few microseconds for each (WAL, ``synchronous=NORMAL``: no disk wait before the commit), and the trip's
hand-over between threads cost more than SQLite did. In a burst of new families (bench.burst) that
took 17% of the CPU per update. Such a statement never waits on the loop for SQLite's lock: the
connections' busy timeout is 0, and a statement that finds the file locked (another process, a
checkpoint) is run again on the connection's thread with the usual patience (``PATIENCE_MS``).
Such a unit of work commits on the loop too: a commit only appends its pages to the WAL, since
the connections never checkpoint on commit (``wal_autocheckpoint=0``); the WAL is copied into the
file off the loop, every second (``Database.checkpoint``), and that is what waits for the disk.
Rollbacks go to the thread. Anything else (a broadcast's recipients, retention, figures) keeps to
the thread, so a long statement never holds the loop up.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

Ran = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid

# How long a statement that found the file locked waits for it, on the connection's thread (ms).
PATIENCE_MS = 10_000


class OneTripCursor:
    """The part of aiosqlite's ``Cursor`` that SQLAlchemy's adapter uses."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        ran = await self._connection.trip(run_one, sql, parameters, False)
        self.description, self._rows, self.rowcount, self.lastrowid = ran
        return self

    async def executemany(self, sql: str, parameters: Any) -> OneTripCursor:
        ran = await self._connection.trip(run_one, sql, parameters, True)
        self.description, self._rows, self.rowcount, self.lastrowid = ran
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self.arraysize if size is None else size
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    async def fetchall(self) -> Sequence[Any]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []  # the sqlite3 cursor was closed on the connection's thread already


def run_one(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> Ran:
    """On the connection's thread: the whole of one statement."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _patiently(connection: sqlite3.Connection, fn: Callable[..., Any], *args: Any) -> Any:
    """On the connection's thread: ``fn`` waiting up to PATIENCE_MS for a locked file."""
    connection.execute(f"PRAGMA busy_timeout={PATIENCE_MS}")
    try:
        return fn(connection, *args)
    finally:
        connection.execute("PRAGMA busy_timeout=0")


def only_reads(sql: str) -> bool:
    """A statement that writes nothing: it needs no turn as the process's SQLite writer."""
    return sql.lstrip()[:6].upper().startswith(("SELECT", "PRAGMA"))


def _busy(exc: sqlite3.OperationalError) -> bool:
    """The file is locked, which waiting cures (not a stale snapshot: SQLite's BUSY_SNAPSHOT)."""
    return getattr(exc, "sqlite_errorcode", 0) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY)


class OneTripConnection(aiosqlite.Connection):
    on_loop = False  # set for a quick unit of work's life (storage/uow.py): statements on the loop
    # Calls handed to the connection's thread (counted on the loop) and finished there (counted on
    # that thread). A call whose awaiting task was cancelled still runs there later: a first write
    # that has not run yet has not begun a transaction, and the pool's reset must wait for it.
    _sent = 0
    _ran = 0

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._sent += 1

        def counted() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._ran += 1

        return await super()._execute(counted)  # type: ignore[no-untyped-call]

    def settled(self) -> bool:
        """No transaction open, and nothing still to run on the connection's thread."""
        return not self._conn.in_transaction and self._ran == self._sent

    def cursor(self) -> OneTripCursor:  # type: ignore[override]  # an awaitable context, as aiosqlite's
        return OneTripCursor(self)

    async def trip(self, fn: Callable[..., Ran], *args: Any) -> Ran:
        ran: Ran
        if self.on_loop:
            try:
                return fn(self._conn, *args)
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
            ran = await self._patiently(fn, *args)
            return ran
        ran = await self._off_loop(fn, *args)
        return ran

    async def commit(self) -> None:
        if self.settled():  # nothing to commit: no trip (only reads, or ended)
            return
        if self.on_loop:
            # Appends the transaction's pages to the WAL, no disk wait (``synchronous=NORMAL``) and no
            # checkpoint (``wal_autocheckpoint=0``: storage/db.py): microseconds, like the statements.
            try:
                self._conn.commit()
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
            await self._patiently(sqlite3.Connection.commit)
            return
        await self._off_loop(sqlite3.Connection.commit)

    async def rollback(self) -> None:
        # The pool's reset of a connection given back: mostly nothing. After what a cancelled task
        # left on the thread, on the thread: the rollback runs after it.
        if not self.settled():
            await super().rollback()

    async def _off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        """On the connection's thread; found locked, once more with patience."""
        try:
            return await self._execute(fn, self._conn, *args)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            return await self._patiently(fn, *args)

    async def _patiently(self, fn: Callable[..., Any], *args: Any) -> Any:
        """The file was locked: on the connection's thread, waiting for it."""
        # Not another unit of work of this process (they take turns: storage/writer.py WriteLock), so
        # another program: a backup, a sqlite3 shell.
        log.warning("the database file is locked by another program; waiting for it")
        return await self._execute(_patiently, self._conn, fn, *args)


def one_trip_creator(url: URL) -> Callable[[], Any]:
    """``create_async_engine(..., async_creator=...)`` for a SQLite file: the same sqlite3 arguments
    SQLAlchemy would give aiosqlite for this URL."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
    connect: Callable[..., sqlite3.Connection] = sqlite3.connect

    def connector() -> sqlite3.Connection:
        return connect(*args, **kwargs)

    async def create() -> OneTripConnection:
        connection = OneTripConnection(connector, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: never keeps the process up
        await connection
        return connection

    return create
