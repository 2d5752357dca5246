"""SQLite writes are serialised in the process (DESIGN.md), on a real SQLite file.

A file's connections try each statement with SQLite's busy timeout at 0 (storage/sqlite_driver.py):
two connections of this process that ever met on SQLite's own write lock would log that the file
was locked before waiting for it, and the fixture fails a test where that happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event

from storage.db import POSTGRES_POOL, SQLITE_POOL, create_engine, migrate
from storage.uow import Database
from storage.vocabulary import Platform


@pytest.fixture
async def sqlite(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Database]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'writer.sqlite3'}")
    database = Database(engine)
    await migrate(database.engine)
    yield database
    await database.dispose()
    assert not [r for r in caplog.records if "locked" in r.getMessage()], "writers met on SQLite's lock"


async def test_many_concurrent_units_of_work_all_commit_one_writer_at_a_time(sqlite: Database) -> None:
    writing: list[int] = []  # who is between their first write and their commit
    overlaps: list[tuple[int, ...]] = []

    async def family(n: int) -> None:
        # Half of them quick, as a family's turn is: statements on the loop's thread (sqlite_driver.py).
        async with sqlite.uow(quick=n % 2 == 0) as uow:
            await uow.dialogs.load(f"tg:{n}")  # a read first, as an update does
            assert await uow.updates.first_time(Platform.TELEGRAM, n)
            writing.append(n)
            if len(writing) > 1:
                overlaps.append(tuple(writing))
            await asyncio.sleep(0.001)  # hand the loop to everyone else mid-transaction
            await uow.dialogs.save(f"tg:{n}", "menu", {"n": n})
            await asyncio.sleep(0)
            await uow.dialogs.save(f"tg:{n}", "t_category", {"n": n})
            writing.remove(n)

    await asyncio.gather(*(family(n) for n in range(200)))  # the fixture fails any meeting on the lock

    assert overlaps == []
    async with sqlite.uow() as uow:
        for n in range(200):
            assert await uow.dialogs.load(f"tg:{n}") == ("t_category", {"n": n})
            assert not await uow.updates.first_time(Platform.TELEGRAM, n)


async def test_reads_run_beside_a_writer(sqlite: Database) -> None:
    wrote = asyncio.Event()
    finish = asyncio.Event()

    async def writer() -> None:
        async with sqlite.uow() as uow:
            await uow.dialogs.save("tg:1", "menu", {})
            wrote.set()
            await finish.wait()

    task = asyncio.create_task(writer())
    await wrote.wait()
    async with asyncio.timeout(5), sqlite.uow() as uow:  # would wait for the writer if reads locked
        assert await uow.dialogs.load("tg:1") is None  # WAL: the writer's row is not committed yet
    finish.set()
    await task
    async with sqlite.uow() as uow:
        assert await uow.dialogs.load("tg:1") == ("menu", {})


async def test_a_failed_unit_of_work_rolls_back_and_lets_the_next_writer_in(sqlite: Database) -> None:
    with pytest.raises(ValueError, match="boom"):
        async with sqlite.uow() as uow:
            await uow.dialogs.save("tg:1", "menu", {})
            raise ValueError("boom")
    async with asyncio.timeout(5), sqlite.uow() as uow:
        await uow.dialogs.save("tg:2", "menu", {})
    async with sqlite.uow() as uow:
        assert await uow.dialogs.load("tg:1") is None
        assert await uow.dialogs.load("tg:2") == ("menu", {})


@pytest.mark.parametrize("quick", [True, False])
async def test_failed_units_of_work_in_a_full_pool_never_keep_the_writer(
    sqlite: Database, quick: bool
) -> None:
    """A failed unit of work's connection goes back to the pool, and to the next unit of work waiting
    for one, while it is rolled back: what it frees afterwards is its own part in the writer, not the
    next one's (the writer was once kept for ever, and every write after waited)."""

    async def family(n: int) -> None:
        async with sqlite.uow(quick=quick) as uow:
            if n % 3:  # a hot statement (storage/prepared.py) or SQLAlchemy's own execution
                await uow.dialogs.save(f"tg:{n}", "menu", {"n": n})
            else:
                await uow.people.set_reachable(f"tg:{n}", False)
                await uow.dialogs.save(f"tg:{n}", "menu", {"n": n})
            await asyncio.sleep(0)
            if n % 2:
                raise ValueError(f"turn {n} failed")

    async with asyncio.timeout(30):
        results = await asyncio.gather(*(family(n) for n in range(200)), return_exceptions=True)
        assert sum(isinstance(r, ValueError) for r in results) == 100
        assert all(r is None or isinstance(r, ValueError) for r in results), results
        async with sqlite.uow(quick=quick) as uow:  # the writer is free
            await uow.dialogs.save("tg:last", "menu", {})
    async with sqlite.uow() as uow:
        for n in range(200):
            assert await uow.dialogs.load(f"tg:{n}") == (None if n % 2 else ("menu", {"n": n}))


async def test_a_write_cancelled_on_the_connections_thread_is_never_committed_by_the_next_one(
    sqlite: Database,
) -> None:
    """A statement handed to the connection's thread runs there even when the task awaiting it is
    cancelled first: the pool's reset of that connection waits for it and rolls it back, instead of
    finding no transaction yet and leaving it to whoever takes the connection next (who committed
    it, in 96 of 100 rounds)."""
    cancelled = 0
    for n in range(40):
        started = asyncio.Event()

        async def admin_turn(n: int = n, started: asyncio.Event = started) -> None:
            async with sqlite.uow() as uow:  # not quick: its statements go to the connection's thread
                await uow.dialogs.load("tg:0")
                started.set()
                await uow.dialogs.save(f"tg:cancelled-{n}", "menu", {})

        task = asyncio.create_task(admin_turn())
        await started.wait()
        await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        cancelled += task.cancelled()
        for k in range(5):  # whichever connection they get
            async with asyncio.timeout(30), sqlite.uow() as uow:
                await uow.dialogs.save(f"tg:{n}.{k}", "menu", {})
    assert cancelled > 20, "the cancels landed while the write was on the thread"
    async with sqlite.uow() as uow:
        kept = [n for n in range(40) if await uow.dialogs.load(f"tg:cancelled-{n}") is not None]
        assert await uow.dialogs.load("tg:39.4") == ("menu", {})
    assert kept == []


async def test_a_writer_cancelled_while_waiting_does_not_keep_the_lock(sqlite: Database) -> None:
    wrote = asyncio.Event()
    finish = asyncio.Event()

    async def holder() -> None:
        async with sqlite.uow() as uow:
            await uow.dialogs.save("tg:1", "menu", {})
            wrote.set()
            await finish.wait()

    async def waiter() -> None:
        async with sqlite.uow() as uow:
            await uow.dialogs.save("tg:2", "menu", {})

    first = asyncio.create_task(holder())
    await wrote.wait()
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0.05)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    finish.set()
    await first
    async with asyncio.timeout(5), sqlite.uow() as uow:
        await uow.dialogs.save("tg:3", "menu", {})
        assert await uow.dialogs.load("tg:2") is None


async def test_a_nested_writer_in_the_same_task_fails_at_once_instead_of_waiting_for_itself(
    sqlite: Database,
) -> None:
    async with asyncio.timeout(5):
        async with sqlite.uow() as outer:
            await outer.dialogs.save("tg:1", "menu", {})
            with pytest.raises(RuntimeError, match="nested"):
                async with sqlite.uow() as inner:
                    await inner.dialogs.save("tg:2", "menu", {})
            async with sqlite.uow() as reader:  # reading inside is fine
                assert await reader.dialogs.load("tg:2") is None
    async with sqlite.uow() as uow:
        assert await uow.dialogs.load("tg:1") == ("menu", {})


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="no PostgreSQL: TEST_POSTGRES_URL unset")
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_postgresql_keeps_its_pool_without_a_process_lock(db: Database) -> None:
    """On PostgreSQL two writers overlap; the database orders them."""
    assert db.engine.dialect.name == "postgresql"
    both = asyncio.Barrier(2)

    async def write(n: int) -> None:
        async with db.uow() as uow:
            await uow.dialogs.save(f"tg:{n}", "menu", {})
            async with asyncio.timeout(5):
                await both.wait()  # both are inside a write transaction at the same time

    await asyncio.gather(write(1), write(2))


async def test_a_burst_reuses_the_pools_connections(db: Database) -> None:
    """200 units of work at once, on SQLite and PostgreSQL: no connection is opened beyond the pool's
    (SQLAlchemy's overflow connections were opened and closed again and again in a burst: a thread
    and the file's pragmas on SQLite, a server process on PostgreSQL; storage/db.py)."""
    opened = 0

    def count(*_args: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(db.engine.sync_engine, "connect", count)
    kept = SQLITE_POOL if db.engine.dialect.name == "sqlite" else POSTGRES_POOL

    async def family(n: int) -> None:
        async with db.uow(quick=True) as uow:
            await uow.dialogs.load(f"tg:{n}")
            await asyncio.sleep(0)
            await uow.dialogs.save(f"tg:{n}", "menu", {"n": n})

    await asyncio.gather(*(family(n) for n in range(200)))
    assert opened <= kept, f"{opened} connections opened for a pool of {kept}"
    async with db.uow() as uow:
        assert [await uow.dialogs.load(f"tg:{n}") for n in (0, 199)] == [
            ("menu", {"n": 0}),
            ("menu", {"n": 199}),
        ]
