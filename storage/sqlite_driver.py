"""aiosqlite with one trip to its thread per statement, not four.

aiosqlite runs every DB-API call on the connection's own thread: SQLAlchemy's adapter asks for a
cursor, executes, fetches and closes it, each a trip there and back (a queue put, a thread wake-up,
``call_soon_threadsafe`` waking the event loop). A profile of a burst of new families (bench.burst)
spent a quarter of the bot's CPU in those trips, far more than in SQLite itself. Here a cursor does
all four in one trip: the statement runs, its rows are read whole (SQLAlchemy's adapter reads them
whole anyway), and the sqlite3 cursor is closed before the answer comes back.

Only file databases use it (``create_engine``); everything else about aiosqlite stays as it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL

Ran = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid


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
        ran = await self._connection.trip(_run, sql, parameters, False)
        self.description, self._rows, self.rowcount, self.lastrowid = ran
        return self

    async def executemany(self, sql: str, parameters: Any) -> OneTripCursor:
        ran = await self._connection.trip(_run, sql, parameters, True)
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


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> Ran:
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


class OneTripConnection(aiosqlite.Connection):
    def cursor(self) -> OneTripCursor:  # type: ignore[override]  # an awaitable context, as aiosqlite's
        return OneTripCursor(self)

    async def trip(self, fn: Callable[..., Ran], *args: Any) -> Ran:
        ran: Ran = await self._execute(fn, self._conn, *args)  # type: ignore[no-untyped-call]
        return ran


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
