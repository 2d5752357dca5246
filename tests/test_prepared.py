"""A family turn's hot statements run straight on a SQLite file's connection (storage/prepared.py),
and that changes nothing of what is written, read, locked or raised."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, update
from sqlalchemy.exc import IntegrityError

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from storage import inbox, logs, repositories
from storage.db import create_engine, migrate
from storage.prepared import LANE, Hot
from storage.uow import Database, UnitOfWork
from storage.vocabulary import Platform
from tests.fakes import FakeMessenger, Family, conversation

NOW = datetime(2026, 3, 1, 21, 30, 5, 123456, tzinfo=UTC)
# How the hot statements begin (storage/prepared.py: ``Hot``).
HOT = (
    "INSERT INTO processed_updates",
    "INSERT INTO people",
    "INSERT INTO chat_messages",
    "SELECT dialog_states.state",
    "INSERT INTO dialog_states",
    "UPDATE inbox SET answer",
    "INSERT INTO inbox",
)


@pytest.fixture
async def sqlite(tmp_path: Path) -> Any:
    database = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hot.sqlite3'}"))
    await migrate(database.engine)
    yield database
    await database.dispose()


def _through_sqlalchemy(db: Database) -> list[str]:
    """The statements SQLAlchemy's own execution hands to the connection from now on."""
    seen: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a, **_k: seen.append(a[2]))
    return seen


async def _a_turns_statements(uow: UnitOfWork, n: int, *, straight: bool) -> dict[str, Any]:
    """What a new family's turn writes, for person ``n``; ``straight``: as a SQLite file's turn does,
    else the way every other database goes (``Session.execute``)."""
    if not straight:
        uow.session.info.pop(LANE)
    key = f"tg:{n}"
    assert await uow.updates.first_time(Platform.TELEGRAM, n)
    assert not await uow.updates.first_time(Platform.TELEGRAM, n)  # the conflict answers 0 rows
    person, created = await uow.people.get_or_create(key, Platform.TELEGRAM, "ru")
    again, _ = await uow.people.get_or_create(key, Platform.TELEGRAM, "en")  # (the clock stands still)
    assert created and again is person and again.locale == "ru"
    await uow.chat_log.add(key, [n * 10, n * 10 + 1], from_bot=False)
    assert await uow.dialogs.load(key) is None
    await uow.dialogs.save(key, "menu", {"answers": {"кто": "мама"}, "n": 1.5, "nothing": None})
    loaded = await uow.dialogs.load(key)
    await uow.inbox.accept(Platform.TELEGRAM, [(n, {"update_id": 0, "text": "Помогите"})], [("vk:5", 3)])
    await uow.inbox.set_answer(Platform.TELEGRAM, n, {"screens": [{"text": "Здравствуйте"}]})
    answer = await uow.inbox.answer_of(Platform.TELEGRAM, n)
    await uow.inbox.accept(Platform.TELEGRAM, [(n + 1, {"update_id": 1}), (n + 2, {})])
    await uow.inbox.set_answer(Platform.TELEGRAM, n + 1, None)
    columns = {c: getattr(person, c) for c in ("id", "key", "locale", "reachable", "announcements")}
    return {"person": columns | {"created_at": person.created_at}, "state": loaded, "answer": answer}


def _stored(path: Path, n: int) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of person ``n`` as SQLite holds them (text, numbers), their keys left out."""
    with sqlite3.connect(path) as raw:
        return {
            "processed_updates": raw.execute(
                "SELECT platform, seen_at FROM processed_updates WHERE update_id = ?", (n,)
            ).fetchall(),
            "people": raw.execute(
                "SELECT platform, locale, region, consent_version, consent_at, announcements, reachable,"
                " created_at, updated_at, deleted_at FROM people WHERE key = ?",
                (f"tg:{n}",),
            ).fetchall(),
            "chat_messages": raw.execute(
                "SELECT message_id - ?, from_bot, sent_at FROM chat_messages WHERE chat = ? ORDER BY id",
                (n * 10, f"tg:{n}"),
            ).fetchall(),
            "dialog_states": raw.execute(
                "SELECT state, data, updated_at FROM dialog_states WHERE key = ?", (f"tg:{n}",)
            ).fetchall(),
            "inbox": raw.execute(
                "SELECT update_id - ?, answer, typeof(answer), raw, received_at, person, seq FROM inbox"
                " WHERE update_id IN (?, ?)"
                " ORDER BY update_id",
                (n, n, n + 1),
            ).fetchall(),
        }


async def test_hot_statements_write_and_read_exactly_what_sqlalchemy_does(
    sqlite: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (inbox, logs, repositories):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)
    through = _through_sqlalchemy(sqlite)
    async with sqlite.uow(quick=True) as uow:
        straight = await _a_turns_statements(uow, 10, straight=True)
    assert not [s for s in through if s.startswith(HOT)], through
    assert through, "the statements that are not hot go through SQLAlchemy's execution as before"
    async with sqlite.uow(quick=True) as uow:
        executed = await _a_turns_statements(uow, 20, straight=False)

    assert straight["person"].pop("id") != executed["person"].pop("id")
    assert straight["person"].pop("key") == "tg:10" and executed["person"].pop("key") == "tg:20"
    assert straight == executed
    assert straight["person"]["created_at"] == NOW and straight["person"]["reachable"] is True
    assert straight["state"] == ("menu", {"answers": {"кто": "мама"}, "n": 1.5, "nothing": None})
    one, two = _stored(tmp_path / "hot.sqlite3", 10), _stored(tmp_path / "hot.sqlite3", 20)
    assert one == two
    assert all(rows for rows in one.values()), one
    assert one["inbox"][1][2] == "null"  # no answer is SQL NULL, not the JSON text 'null'
    kept = [json.loads(row[3]) for row in one["inbox"]]
    assert kept == [{"update_id": 0, "text": "Помогите"}, {"update_id": 1}]
    assert one["inbox"][0][-2:] == ("vk:5", 3)


async def test_a_familys_start_runs_its_hot_statements_straight_on_the_connection(
    sqlite: Database, translators: Translators, directory: Directory
) -> None:
    """If SQLAlchemy changed so that they fell back to its execution, this says so."""
    messenger = FakeMessenger()
    service = conversation(sqlite, messenger, translators, directory)
    through = _through_sqlalchemy(sqlite)
    family = Family(service, user_id=31)
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    await family.send(Event(kind=EventKind.TEXT, text="Здравствуйте"))
    assert messenger.sent, "the family was answered"
    assert not [s for s in through if s.startswith(HOT)], through
    async with sqlite.uow() as uow:
        person = await uow.people.get("tg:31")
        assert person is not None
        assert await uow.dialogs.load("tg:31") is not None
        assert not await uow.updates.first_time(Platform.TELEGRAM, family.update_id)


async def test_a_pending_change_is_written_before_a_hot_statement_reads(db: Database) -> None:
    """As ``Session.execute`` does (its autoflush): a person renamed in this unit of work is found
    by the new key, not created again."""
    async with db.uow(quick=True) as uow:
        person, _ = await uow.people.get_or_create("tg:5", Platform.TELEGRAM, "ru")
        person.key = "tg:6"
        again, created = await uow.people.get_or_create("tg:6", Platform.TELEGRAM, "ru")
        assert again is person and not created
    async with db.uow() as uow:
        assert await uow.people.get("tg:5") is None
        assert (await uow.people.get("tg:6")) is not None


async def test_a_hot_statements_failure_is_sqlalchemys_rolls_back_and_frees_the_writer(db: Database) -> None:
    with pytest.raises(IntegrityError) as failed:
        async with db.uow(quick=True) as uow:
            assert await uow.updates.first_time(Platform.TELEGRAM, 7)
            await uow.dialogs.save("tg:7", None, {"phone": "+7 900 555-12-34"})  # type: ignore[arg-type]
    assert "555-12-34" not in str(failed.value)  # never a family's words in the log
    async with db.uow(quick=True) as uow:  # the writer is free, and nothing of that turn was kept
        assert await uow.updates.first_time(Platform.TELEGRAM, 7)
        assert await uow.dialogs.load("tg:7") is None


async def test_a_statements_own_values_and_defaults_are_written_as_sqlalchemy_writes_them(
    sqlite: Database,
) -> None:
    """A value the statement holds itself (not given at the call) is written, processed; a value
    SQLAlchemy makes at execution (an ``onupdate``) sends the statement through its execution."""
    states, people = repositories.DIALOG_STATES, repositories.PEOPLE
    moved = Hot(
        lambda _dialect: (
            update(states).where(states.c.key == bindparam("b_key")).values(state="closed", updated_at=NOW)
        )
    )
    quiet = Hot(
        lambda _dialect: update(people).where(people.c.key == bindparam("b_key")).values(reachable=False)
    )
    through = _through_sqlalchemy(sqlite)
    async with sqlite.uow(quick=True) as uow:
        person, _ = await uow.people.get_or_create("tg:8", Platform.TELEGRAM, "ru")
        await uow.dialogs.save("tg:8", "menu", {})
        assert (await moved.run(uow.session, {"b_key": "tg:8"})).rowcount == 1
        assert not through
        assert (await quiet.run(uow.session, {"b_key": "tg:8"})).rowcount == 1
        assert [s.split(" SET ")[0] for s in through] == ["UPDATE people"]  # for its updated_at
    async with sqlite.uow() as uow:
        assert await uow.dialogs.updated_at("tg:8") == NOW
        assert await uow.dialogs.load("tg:8") == ("closed", {})
        again = await uow.people.get("tg:8")
        assert again is not None and again.reachable is False and again.updated_at > person.updated_at
