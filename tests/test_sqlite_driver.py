"""The one-trip aiosqlite cursor (storage/sqlite_driver.py) behaves as the DB-API cursor SQLAlchemy
expects: rows, row counts, RETURNING, executemany, errors and rollbacks, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import create_engine
from storage.sqlite_driver import OneTripConnection


async def test_a_file_database_runs_each_statement_in_one_trip(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.sqlite3'}")
    trips = 0
    original = OneTripConnection.trip

    async def counted(self: OneTripConnection, *args: object) -> object:
        nonlocal trips
        trips += 1
        return await original(self, *args)  # type: ignore[arg-type]

    try:
        OneTripConnection.trip = counted  # type: ignore[method-assign,assignment]
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, OneTripConnection)
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INT)"))
            trips = 0
            await conn.execute(
                text("INSERT INTO t (name, n) VALUES (:name, :n)"),
                [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}],
            )
            assert trips == 1, "executemany is one trip"
            trips = 0
            rows = (await conn.execute(text("SELECT name, n FROM t ORDER BY id"))).all()
            assert [tuple(r) for r in rows] == [("a", 1), ("b", 2), ("c", 3)]
            assert trips == 1, "cursor, execute, fetch and close in one trip"
            updated = await conn.execute(text("UPDATE t SET n = n + 10 WHERE n >= 2"))
            assert updated.rowcount == 2
            returned = await conn.execute(
                text("INSERT INTO t (name, n) VALUES ('d', 4) ON CONFLICT (name) DO NOTHING RETURNING id")
            )
            assert returned.scalar_one() == 4
            again = await conn.execute(
                text("INSERT INTO t (name, n) VALUES ('d', 5) ON CONFLICT (name) DO NOTHING RETURNING id")
            )
            assert again.first() is None, "a conflict returns no row"
            inserted = await conn.execute(text("INSERT INTO t (name, n) VALUES ('e', 6)"))
            assert inserted.lastrowid == 5
            many = await conn.execute(text("SELECT n FROM t ORDER BY n"))
            assert many.fetchmany(2) == [(1,), (4,)] and len(many.fetchall()) == 3
    finally:
        OneTripConnection.trip = original  # type: ignore[method-assign]
        await engine.dispose()


async def test_errors_and_rollbacks_still_reach_sqlalchemy(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'two.sqlite3'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (name TEXT PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES ('a')"))
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES ('b')"))
                await conn.execute(text("INSERT INTO t VALUES ('a')"))  # the whole transaction goes
        async with engine.connect() as conn:
            names = (await conn.execute(text("SELECT name FROM t"))).scalars().all()
        assert names == ["a"]
    finally:
        await engine.dispose()


async def test_a_memory_database_keeps_aiosqlites_own_connection() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert not isinstance(raw.driver_connection, OneTripConnection)
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
