"""Storage on a real SQLite file: migrations, WAL, upserts, idempotency, erasure."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from storage.db import create_engine, migrate
from storage.models import Outbox, Ticket, utcnow
from storage.uow import Database
from storage.vocabulary import OutboxKind, Platform, parse_person_key


async def test_migrations_create_the_schema(db: Database, tmp_path: Path) -> None:
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"people", "tickets", "ticket_entries", "outbox", "dialog_states", "processed_updates"} <= tables
    assert {"chat_messages", "alembic_version"} <= tables
    await migrate(db.engine)  # applying again is harmless
    if db.engine.dialect.name == "sqlite":
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (tmp_path / "data" / "bot.sqlite3").exists()


async def test_dialog_state_upsert_never_races(db: Database) -> None:
    async def save(n: int) -> None:
        async with db.uow() as uow:
            await uow.dialogs.save("tg:1", f"s{n}", {"n": n})

    await asyncio.gather(*(save(n) for n in range(20)))
    async with db.uow() as uow:
        loaded = await uow.dialogs.load("tg:1")
    assert loaded is not None
    state, data = loaded
    assert state == f"s{data['n']}"


async def test_update_ids_are_recorded_once(db: Database) -> None:
    async with db.uow() as uow:
        assert await uow.updates.first_time(Platform.TELEGRAM, 2**40)
        assert not await uow.updates.first_time(Platform.TELEGRAM, 2**40)
        assert await uow.updates.first_time(Platform.VK, 2**40)
    async with db.uow() as uow:
        assert await uow.updates.prune(utcnow() + timedelta(seconds=1)) == 2


async def test_a_merged_turns_update_ids_are_recorded_once_in_one_statement(db: Database) -> None:
    """``first_times`` (a flood's merged turn): the ids not seen before, whether seen in an earlier
    turn, twice in the same batch, or on another platform; for as many ids as a merged turn takes."""
    async with db.uow() as uow:
        assert await uow.updates.first_time(Platform.TELEGRAM, 5)
        assert await uow.updates.first_times(Platform.TELEGRAM, []) == set()
        assert await uow.updates.first_times(Platform.TELEGRAM, [4, 5, 6, 6]) == {4, 6}
        assert await uow.updates.first_times(Platform.VK, [5, 6]) == {5, 6}
        assert await uow.updates.first_times(Platform.TELEGRAM, list(range(1000, 1100))) == set(
            range(1000, 1100)
        )
    async with db.uow() as uow:
        assert await uow.updates.first_times(Platform.TELEGRAM, [6, 7, 1099, 1100]) == {7, 1100}
        assert not await uow.updates.first_time(Platform.TELEGRAM, 4)
        assert await uow.updates.prune(utcnow() + timedelta(seconds=1)) == 107


async def test_a_failed_use_case_rolls_back_everything(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.uow() as uow:
            person, _ = await uow.people.get_or_create("tg:5", Platform.TELEGRAM, "ru")
            await uow.tickets.create(
                person_id=person.id, category="other", contact_method="chat", locale="ru"
            )
            raise RuntimeError("boom")
    async with db.uow() as uow:
        assert await uow.people.get("tg:5") is None
        assert (await uow.session.scalars(select(Ticket))).all() == []


async def test_ticket_with_outbox_and_erasure(db: Database) -> None:
    async with db.uow() as uow:
        person, created = await uow.people.get_or_create("tg:9", Platform.TELEGRAM, "ru")
        again, created_again = await uow.people.get_or_create("tg:9", Platform.TELEGRAM, "en")
        assert created and not created_again and again.id == person.id and again.locale == "ru"
        ticket = await uow.tickets.create(
            person_id=person.id,
            category="housing",
            description="текст",
            phone="+79990001122",
            attachments=[{"kind": "photo", "ref": "tg:x"}],
            contact_method="phone",
            locale="ru",
            urgent=True,
        )
        await uow.outbox.add(OutboxKind.TICKET_CREATED, ticket.id, urgent=True, payload={})
        await uow.tickets.add_entry(ticket.id, "family", "ещё", [])
    async with db.uow() as uow:
        [pending] = await uow.outbox.pending()
        assert pending.ticket_id == ticket.id and pending.urgent
        stored = await uow.people.get("tg:9")
        assert stored is not None
        assert await uow.tickets.withdraw(stored.id + 1, ticket.id) is False  # not theirs
        await uow.tickets.erase_for_person(stored.id)
        await uow.people.anonymise(stored)
    async with db.uow() as uow:
        erased = await uow.session.get(Ticket, ticket.id)
        assert erased is not None
        assert (erased.description, erased.phone, erased.attachments, erased.status) == (
            "",
            None,
            [],
            "withdrawn",
        )
        assert await uow.people.get("tg:9") is None
        assert len((await uow.session.scalars(select(Outbox))).all()) == 1


async def test_timestamps_are_timezone_aware(db: Database) -> None:
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("tg:3", Platform.TELEGRAM, "ru")
        await uow.people.give_consent(person, "v1", utcnow())
    async with db.uow() as uow:
        stored = await uow.people.get("tg:3")
        assert stored is not None and stored.consent_at is not None and stored.consent_at.tzinfo is not None


def test_person_keys() -> None:
    assert parse_person_key("tg:123") == (Platform.TELEGRAM, 123)
    assert parse_person_key("VK:456") == (Platform.VK, 456)
    assert parse_person_key(" -100123 ") == (Platform.TELEGRAM, -100123)
    assert parse_person_key(f"tg:{2**62}") == (Platform.TELEGRAM, 2**62)
    for bad in ("xx:1", "tg:", "tg:abc", f"tg:{2**64}", ""):
        with pytest.raises(ValueError):
            parse_person_key(bad)


async def test_the_default_sqlite_file_and_folder_are_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine("sqlite+aiosqlite:///data/bot.sqlite3")
    await migrate(engine)
    await engine.dispose()
    assert (tmp_path / "data" / "bot.sqlite3").is_file()


async def test_database_errors_do_not_carry_personal_data(db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    secret = "муж бьёт, телефон +79001234567"
    with pytest.raises(IntegrityError) as caught:
        async with db.uow() as uow:
            await uow.tickets.create(
                person_id=999_999, category="other", contact_method="chat", locale="ru", description=secret
            )
    assert "+79001234567" not in str(caught.value)


async def test_replicas_starting_together_migrate_once(db: Database) -> None:
    """Two engines (two replicas) migrating at once: both finish, the schema is whole, nothing fails."""
    second = Database(create_engine(db.engine.url.render_as_string(hide_password=False)))
    try:
        await asyncio.gather(migrate(db.engine), migrate(second.engine))
        async with second.uow() as uow:
            await uow.dialogs.save("tg:1", "menu", {})
            assert await uow.dialogs.load("tg:1") == ("menu", {})
    finally:
        await second.dispose()
