"""The one-trip aiosqlite cursor (storage/sqlite_driver.py) behaves as the DB-API cursor SQLAlchemy
expects: rows, row counts, RETURNING, executemany, errors and rollbacks, on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.sandbox.telegram.emulator import TelegramEmulator
from handlers.housekeeping import WalCheckpoint
from storage.db import create_engine, migrate
from storage.sqlite_driver import OneTripConnection
from storage.uow import Database, UnitOfWork
from tests.e2e import start_app


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


def _thread_of_each_statement(connection: sqlite3.Connection) -> None:
    """SQLite calls ``tid()`` on the thread that runs the statement."""
    connection.create_function("tid", 0, threading.get_ident)


async def _tid(uow: UnitOfWork) -> int:
    raw = await (await uow.session.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, OneTripConnection)
    _thread_of_each_statement(driver._conn)
    return int((await uow.session.execute(text("SELECT tid()"))).scalar_one())


async def test_a_quick_unit_of_work_runs_on_the_loop_and_the_rest_off_it(tmp_path: Path) -> None:
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'quick.sqlite3'}"))
    await migrate(db.engine)
    try:
        async with db.uow(quick=True) as uow:
            assert await _tid(uow) == threading.get_ident(), "a family's turn: no trip to a thread"
            await uow.dialogs.save("tg:1", "menu", {})
        async with db.uow() as uow:
            assert await _tid(uow) != threading.get_ident(), "anything else: on the connection's thread"
            assert await uow.dialogs.load("tg:1") == ("menu", {}), "the quick one committed"
    finally:
        await db.dispose()


async def test_a_file_locked_by_another_program_is_waited_for_off_the_loop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A quick unit of work's write finds the file locked (a sqlite3 shell holds a write transaction):
    the loop keeps serving meanwhile, the write goes through once the lock goes, and it is logged."""
    path = tmp_path / "locked.sqlite3"
    db = Database(create_engine(f"sqlite+aiosqlite:///{path}"))
    await migrate(db.engine)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the write lock, held by another connection
    ticks = 0

    async def ticking() -> None:
        # Only the loop can let the lock go, after it has run ten times while the write waited: a
        # write frozen in SQLite's wait on the loop would never see it go (a fixed delay instead
        # failed on a loaded machine, where a stall of the whole process looked like a frozen loop).
        nonlocal ticks
        while ticks < 10:
            await asyncio.sleep(0.01)
            ticks += 1
        other.rollback()

    clock = asyncio.create_task(ticking())
    try:
        async with asyncio.timeout(30), db.uow(quick=True) as uow:
            await uow.dialogs.save("tg:1", "menu", {})
            assert ticks == 10, "the loop ran while the write waited, and let the lock go"
        async with db.uow() as uow:
            assert await uow.dialogs.load("tg:1") == ("menu", {})
        assert any("locked by another program" in r.getMessage() for r in caplog.records)
    finally:
        clock.cancel()
        other.close()
        await db.dispose()


async def test_a_quick_unit_of_work_commits_on_the_loop_and_the_rest_off_it(tmp_path: Path) -> None:
    """SQLite's trace callback runs on the thread that runs the statement, COMMIT included."""
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'commit.sqlite3'}"))
    await migrate(db.engine)
    commits: list[int] = []

    def traced(sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            commits.append(threading.get_ident())

    try:
        for quick in (True, False):
            async with db.uow(quick=quick) as uow:
                raw = await (await uow.session.connection()).get_raw_connection()
                driver = raw.driver_connection
                assert isinstance(driver, OneTripConnection)
                driver._conn.set_trace_callback(traced)
                await uow.dialogs.save(f"tg:{int(quick)}", "menu", {})
            driver._conn.set_trace_callback(None)
        on_loop, off_loop = commits
        assert on_loop == threading.get_ident(), "a family's turn commits on the loop"
        assert off_loop != threading.get_ident(), "anything else commits on the connection's thread"
    finally:
        await db.dispose()


async def test_commits_never_checkpoint_and_the_job_copies_the_wal_into_the_file(tmp_path: Path) -> None:
    """A commit on the loop must never wait for the disk: no connection checkpoints on commit (SQLite
    does by default once the WAL holds 1,000 pages). The WalCheckpoint job copies it, off the loop."""
    path = tmp_path / "wal.sqlite3"
    db = Database(create_engine(f"sqlite+aiosqlite:///{path}"))
    await migrate(db.engine)
    await WalCheckpoint(db).run_once(datetime.now(UTC))
    story = "x" * 16_000  # four pages and more a turn: 1,200 pages in all
    try:
        async with db.uow() as uow:
            assert (await uow.session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 0
        for n in range(300):
            async with db.uow(quick=True) as uow:
                await uow.dialogs.save(f"tg:{n}", "story", {"text": story})
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 1_100 * 4096, "every page is still in the WAL: no commit copied it"
        assert _in_the_file_alone(path, tmp_path) == 0
        await WalCheckpoint(db).run_once(datetime.now(UTC))
        assert _in_the_file_alone(path, tmp_path) == 300, "the job copied the WAL into the file"
    finally:
        await db.dispose()


def _in_the_file_alone(path: Path, tmp_path: Path) -> int:
    """How many saved steps the database file holds without its WAL (a copy of the file alone)."""
    alone = tmp_path / "alone.sqlite3"
    alone.write_bytes(path.read_bytes())
    connection = sqlite3.connect(alone)
    try:
        return int(connection.execute("SELECT count(*) FROM dialog_states").fetchone()[0])
    finally:
        connection.close()
        alone.unlink()


async def test_the_wal_starts_over_while_writers_never_stop(tmp_path: Path) -> None:
    """Writers back to back on the loop while checkpoints run on a thread: a write lands during each
    checkpoint, so SQLite would never start the WAL over (it grew 120 MB in 8 s). Once the WAL is
    big, the checkpoint holds the process's writers and the next write starts it over; the pool's
    connections all held by writers waiting for that lock do not stall it (the connection first)."""
    path = tmp_path / "burst.sqlite3"
    db = Database(create_engine(f"sqlite+aiosqlite:///{path}"))
    await migrate(db.engine)
    story = "x" * 16_000  # four pages and more a turn
    wal = path.with_name(path.name + "-wal")
    largest = 0
    writing = True
    salts: set[bytes] = set()  # a WAL that starts over is given a new salt in its header

    async def writer(n: int) -> None:
        for i in range(120):
            async with db.uow(quick=True) as uow:
                await uow.dialogs.save(f"tg:{n}-{i}", "story", {"text": story})

    async def checkpoints() -> None:
        nonlocal largest
        while writing:
            await db.checkpoint()
            if wal.exists():
                largest = max(largest, wal.stat().st_size)
                with wal.open("rb") as header:
                    salts.add(header.read(24)[16:24])
            await asyncio.sleep(0.02)

    job = asyncio.create_task(checkpoints())
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(writer(n) for n in range(20)))  # 2,400 turns, 40 MB of WAL in all
            writing = False
            await job
        async with db.uow() as uow:
            assert (
                await uow.session.execute(text("SELECT count(*) FROM dialog_states"))
            ).scalar_one() == 2400
        # How far it grows between two checkpoints depends on the machine (each copy waits for the
        # disk meanwhile); that it starts over while the writers never stop does not.
        assert len(salts) > 1, "the WAL never started over"
        assert largest < 48 * 2**20, f"the WAL file grew to {largest / 2**20:.0f} MiB"
    finally:
        writing = False
        await db.dispose()


async def test_a_started_bot_has_the_checkpoint_job(emulator: TelegramEmulator, db_url: str) -> None:
    """Without it nothing would copy the WAL into the file while the bot runs."""
    app = await start_app(emulator, db_url)
    try:
        assert app.background is not None
        assert any(isinstance(job, WalCheckpoint) for job in app.background.jobs)
    finally:
        await app.stop()
