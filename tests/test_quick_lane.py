"""Families' turns on a SQLite file take turns on a connection kept for them (storage/quick.py): a
turn of hot statements only is committed on the loop with no SQLAlchemy transaction; anything that
goes through the session is in the same transaction; a failure, a cancel or a broken connection
undoes the whole turn and leaves the lane usable."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, UnboundExecutionError
from sqlalchemy.ext.asyncio import AsyncConnection

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from storage.db import create_engine, migrate
from storage.prepared import LANE
from storage.sqlite_driver import OneTripConnection
from storage.uow import Database
from storage.vocabulary import Platform
from tests.fakes import FakeMessenger, Family, conversation


@pytest.fixture
async def lane_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'lane.sqlite3'}"))
    await migrate(database.engine)
    yield database
    await database.dispose()


def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    """What another program reading the file sees: only what was committed."""
    path = db.engine.url.database
    assert path is not None
    with sqlite3.connect(path) as other:
        return list(other.execute(sql))


def _through_sqlalchemy(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a, **_k: seen.append(a[2]))
    return seen


def _checked_at_commit(db: Database) -> None:
    """A table whose rows SQLite checks only at the commit (a deferred foreign key)."""
    path = db.engine.url.database
    assert path is not None
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        other.execute(
            "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )


@asynccontextmanager
async def _writer_held(db: Database) -> AsyncIterator[None]:
    """Inside: another unit of work (the intake keeping a batch, say) holds the process's writer."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.uow() as uow:
            await uow.updates.first_time(Platform.TELEGRAM, 100)
            holding.set()
            await release.wait()

    other = asyncio.create_task(writer())
    await asyncio.wait_for(holding.wait(), 5)
    try:
        yield
    finally:
        release.set()
        await asyncio.wait_for(other, 5)


async def _new_family(db: Database, n: int) -> None:
    """A new family's /start, as the turn writes it: every statement a hot one."""
    async with db.uow(quick=True) as uow:
        assert await uow.updates.first_time(Platform.TELEGRAM, n)
        await uow.people.get_or_create(f"tg:{n}", Platform.TELEGRAM, "ru")
        await uow.chat_log.add(f"tg:{n}", [n], from_bot=False)
        await uow.dialogs.save(f"tg:{n}", "menu", {"n": n})


async def test_a_turn_of_hot_statements_is_committed_without_sqlalchemys_transaction(
    lane_db: Database,
) -> None:
    seen = _through_sqlalchemy(lane_db)
    for n in (1, 2):
        await _new_family(lane_db, n)
    assert seen == [], "nothing went through SQLAlchemy's execution, COMMIT included"
    assert _rows(lane_db, "SELECT key, state FROM dialog_states ORDER BY key") == [
        ("tg:1", "menu"),
        ("tg:2", "menu"),
    ]
    assert lane_db.engine.pool.checkedout() == 1, "one connection, kept for the turns"  # type: ignore[attr-defined]


async def test_what_goes_through_the_session_shares_the_turns_transaction(lane_db: Database) -> None:
    """A changed object and a statement of the session's own are committed with the hot statements
    before them, in one transaction; the commit is SQLAlchemy's."""
    seen = _through_sqlalchemy(lane_db)
    async with lane_db.uow(quick=True) as uow:
        person, _ = await uow.people.get_or_create("tg:7", Platform.TELEGRAM, "ru")
        await uow.dialogs.save("tg:7", "menu", {})
        person.locale = "en"
        mine = (await uow.session.execute(text("SELECT count(*) FROM dialog_states"))).scalar_one()
        assert mine == 1, "the session reads what the hot statements wrote: one transaction"
        assert _rows(lane_db, "SELECT count(*) FROM dialog_states") == [(0,)], "not committed yet"
    assert any(s.startswith("UPDATE people") for s in seen), "the change was flushed by SQLAlchemy"
    assert _rows(lane_db, "SELECT key, locale FROM people") == [("tg:7", "en")]
    assert _rows(lane_db, "SELECT key FROM dialog_states") == [("tg:7",)]


async def test_an_object_changed_last_is_flushed_and_committed(lane_db: Database) -> None:
    """Nothing went through the session yet, but an object of it changed: SQLAlchemy's commit."""
    async with lane_db.uow(quick=True) as uow:
        await uow.dialogs.save("tg:12", "menu", {})
        person, _ = await uow.people.get_or_create("tg:12", Platform.TELEGRAM, "ru")
        person.locale = "en"
    assert _rows(lane_db, "SELECT key, locale FROM people") == [("tg:12", "en")]
    assert _rows(lane_db, "SELECT key FROM dialog_states") == [("tg:12",)]


@pytest.mark.parametrize("through_session", [False, True])
async def test_a_failed_turn_leaves_nothing_behind(lane_db: Database, through_session: bool) -> None:
    with pytest.raises(RuntimeError, match="the dialog failed"):
        async with lane_db.uow(quick=True) as uow:
            person, _ = await uow.people.get_or_create("tg:3", Platform.TELEGRAM, "ru")
            await uow.dialogs.save("tg:3", "menu", {})
            if through_session:
                person.locale = "en"
                await uow.session.flush()
            raise RuntimeError("the dialog failed")
    assert _rows(lane_db, "SELECT count(*) FROM people") == [(0,)]
    assert _rows(lane_db, "SELECT count(*) FROM dialog_states") == [(0,)]
    await _new_family(lane_db, 4)  # the lane and the writer are free again
    assert _rows(lane_db, "SELECT key FROM people") == [("tg:4",)]


async def test_a_commit_that_fails_is_sqlalchemys_error_and_undoes_the_turn(lane_db: Database) -> None:
    """A check SQLite makes only at the commit (a foreign key, deferred): the commit on the loop
    raises as SQLAlchemy would, the turn is rolled back, the next one goes on."""
    _checked_at_commit(lane_db)
    with pytest.raises(IntegrityError):
        async with lane_db.uow(quick=True) as uow:
            await uow.dialogs.save("tg:5", "menu", {})
            driver = uow.session.info[LANE].driver
            assert isinstance(driver, OneTripConnection)
            driver._conn.execute("INSERT INTO child (parent_id) VALUES (1)")  # no such parent
    assert _rows(lane_db, "SELECT count(*) FROM dialog_states") == [(0,)]
    await _new_family(lane_db, 6)
    assert _rows(lane_db, "SELECT key FROM dialog_states") == [("tg:6",)]


async def test_a_turn_cancelled_while_waiting_for_the_writer_undoes_its_part(lane_db: Database) -> None:
    """The writer is held by another unit of work (the intake keeping a batch); the turn has read,
    then is cancelled at its first write: the lane is free for the next turn, nothing is left."""

    async def turn() -> None:
        async with lane_db.uow(quick=True) as uow:
            await uow.dialogs.load("tg:8")
            await uow.dialogs.save("tg:8", "menu", {})

    async with _writer_held(lane_db):
        waiting = asyncio.create_task(turn())
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    await asyncio.wait_for(_new_family(lane_db, 9), 5)
    assert _rows(lane_db, "SELECT key FROM dialog_states") == [("tg:9",)]


async def test_turns_take_turns_on_the_lane(lane_db: Database) -> None:
    """Two families' turns never share the connection at once: the second enters when the first ends."""
    inside: list[str] = []

    async def turn(name: str) -> None:
        async with lane_db.uow(quick=True) as uow:
            inside.append(f"{name} in")
            await uow.dialogs.save(f"tg:{name}", "menu", {})
            await asyncio.sleep(0.02)  # (a turn's own wait, e.g. for the writer)
            inside.append(f"{name} out")

    await asyncio.gather(turn("a"), turn("b"))
    assert inside == ["a in", "a out", "b in", "b out"]


async def test_a_session_used_after_its_turn_cannot_reach_the_kept_connection(lane_db: Database) -> None:
    async with lane_db.uow(quick=True) as uow:
        await uow.dialogs.save("tg:10", "menu", {})
    with pytest.raises(UnboundExecutionError):
        await uow.session.execute(text("SELECT 1"))


async def test_a_broken_kept_connection_is_replaced(lane_db: Database) -> None:
    """Broken between turns (SQLAlchemy invalidated it: the file's connection is closed)."""
    async with lane_db.uow(quick=True) as uow:
        await uow.dialogs.save("tg:11", "menu", {})
        kept = uow.session.bind
    assert isinstance(kept, AsyncConnection)
    await kept.invalidate()
    await _new_family(lane_db, 12)
    assert _rows(lane_db, "SELECT key FROM dialog_states ORDER BY key") == [("tg:11",), ("tg:12",)]


async def test_a_commit_of_sqlalchemys_that_fails_leaves_the_lane_usable(lane_db: Database) -> None:
    """SQLAlchemy leaves a transaction whose commit failed on the connection, inactive, for a
    rollback: every later turn through the session failed to begin until it was rolled back (found
    by review)."""
    _checked_at_commit(lane_db)
    with pytest.raises(IntegrityError):
        async with lane_db.uow(quick=True) as uow:
            await uow.dialogs.save("tg:1", "menu", {})
            await uow.session.execute(text("INSERT INTO child (parent_id) VALUES (1)"))
    for n in (2, 3):
        async with lane_db.uow(quick=True) as uow:
            await uow.dialogs.save(f"tg:{n}", "menu", {})
            await uow.session.execute(text("SELECT 1"))
    assert _rows(lane_db, "SELECT key FROM dialog_states ORDER BY key") == [("tg:2",), ("tg:3",)]


async def test_a_turn_cancelled_inside_sqlalchemy_is_cancelled_and_the_next_ones_go_on(
    lane_db: Database,
) -> None:
    """SQLAlchemy takes a cancel in its execution for a broken connection and drops it: the turn
    ends cancelled (it ended with a ValueError from the closed connection), the turn waiting behind
    it gets a new connection (it failed for want of one), and so does the next (found by review)."""

    async def through_session() -> None:
        async with lane_db.uow(quick=True) as uow:
            await uow.session.execute(text("UPDATE dialog_states SET state = 'x' WHERE key = 'nobody'"))

    async with _writer_held(lane_db):
        cancelled = asyncio.create_task(through_session())
        await asyncio.sleep(0.05)  # it waits for the writer, inside SQLAlchemy's execution
        behind = asyncio.create_task(_new_family(lane_db, 1))
        await asyncio.sleep(0.05)  # in line for the lane
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
    async with asyncio.timeout(5):
        await behind
        await _new_family(lane_db, 2)
    assert _rows(lane_db, "SELECT key FROM dialog_states ORDER BY key") == [("tg:1",), ("tg:2",)]


async def test_turns_after_a_dispose_open_the_lane_again(lane_db: Database) -> None:
    """As units of work on the pool's connections do (a turn still running when the bot stops)."""
    await _new_family(lane_db, 1)
    await lane_db.dispose()
    await _new_family(lane_db, 2)
    assert _rows(lane_db, "SELECT key FROM dialog_states ORDER BY key") == [("tg:1",), ("tg:2",)]


async def test_a_dispose_waits_for_the_turn_in_hand(lane_db: Database) -> None:
    """Closed under a turn (the stop's dispose after its drain), the connection went back to the pool:
    the turn's first write was rolled back, its second committed, and it reported success (found by
    review)."""
    inside, go = asyncio.Event(), asyncio.Event()

    async def turn() -> None:
        async with lane_db.uow(quick=True) as uow:
            await uow.dialogs.save("tg:1", "menu", {})
            inside.set()
            await go.wait()
            await uow.dialogs.save("tg:2", "menu", {})

    running = asyncio.create_task(turn())
    await asyncio.wait_for(inside.wait(), 5)
    disposing = asyncio.create_task(lane_db.dispose())
    await asyncio.sleep(0.05)
    assert not disposing.done(), "the dispose waits for the turn's place"
    go.set()
    async with asyncio.timeout(5):
        await running
        await disposing
    assert _rows(lane_db, "SELECT key FROM dialog_states ORDER BY key") == [("tg:1",), ("tg:2",)]


async def test_writes_a_failed_rollback_left_open_are_never_committed_by_the_next_turn(
    lane_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statements' rollback fails once (a disk error): the connection is not kept with the
    failed turn's writes open for the next turn's commit (found by review)."""
    real = OneTripConnection.rollback
    failures = [sqlite3.OperationalError("disk I/O error")]

    async def flaky(self: OneTripConnection) -> None:
        if failures:
            raise failures.pop()
        await real(self)

    monkeypatch.setattr(OneTripConnection, "rollback", flaky)
    with pytest.raises((RuntimeError, sqlite3.OperationalError)):
        async with lane_db.uow(quick=True) as uow:
            await uow.dialogs.save("tg:failed", "menu", {})
            raise RuntimeError("the dialog failed")
    await _new_family(lane_db, 1)
    assert _rows(lane_db, "SELECT key FROM dialog_states ORDER BY key") == [("tg:1",)]


async def test_a_new_familys_start_begins_no_sqlalchemy_transaction(
    lane_db: Database, translators: Translators, directory: Directory
) -> None:
    """The whole /start of a new family (the burst of issue 13), through the conversation: hot
    statements only, committed by the connection on the loop. A change that sends it through the
    session (an object changed, a query of its own) would cost the burst its gain: this says so.
    (The process's first turn reads the directory of help, once: the first family warms it.)"""
    messenger = FakeMessenger()
    service = conversation(lane_db, messenger, translators, directory)
    await Family(service, user_id=41).send(Event(kind=EventKind.COMMAND, command="start"))
    begun: list[object] = []
    event.listen(lane_db.engine.sync_engine, "begin", begun.append)
    second = Family(service, user_id=42)
    second.update_id = 100  # (each Family numbers its updates from 1)
    await second.send(Event(kind=EventKind.COMMAND, command="start"))
    assert [chat for chat, _screen in messenger.sent if chat == 42], "the family was answered"
    assert begun == [], "the turn went through SQLAlchemy's transaction"
    assert _rows(lane_db, "SELECT key FROM dialog_states ORDER BY key") == [("tg:41",), ("tg:42",)]
