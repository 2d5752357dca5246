"""A database of the version before (schema 0012: the opt-in as a separate message, broadcasts with a
text only) works after the upgrade: people mid-way resume, old rows and saved announcements go out."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from dialogs.directory import Directory
from dialogs.i18n import Translators
from handlers.broadcasts import BroadcastJob, BroadcastSettings
from storage.db import MIGRATIONS_DIR, create_engine, migrate
from storage.models import utcnow
from storage.uow import Database
from storage.vocabulary import Platform
from tests.broadcast_support import Admin as Person
from tests.fakes import FakeMessenger, conversation

# An announcement the version before kept for a family in the middle of a step (no file, no "paid").
OLD_PENDING = {"kind": "announcement", "broadcast": 1, "texts": {"*": "Старое объявление"}}


def _to_0012(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "0012")


def _old_broadcast(connection: Connection) -> None:
    now = utcnow()
    connection.execute(
        text(
            "INSERT INTO broadcasts (created_by, text, audience, status, due_at, created_at) "
            "VALUES ('tg:1', 'Раздача в субботу', '{\"kind\": \"all\", \"value\": \"\"}', 'scheduled', :now, :now)"
        ),
        {"now": now},
    )


async def test_people_mid_way_and_old_broadcasts_go_on_after_the_upgrade(
    tmp_path: Path, translators: Translators, directory: Directory
) -> None:
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"))
    async with db.engine.begin() as connection:
        await connection.run_sync(_to_0012)
        await connection.run_sync(_old_broadcast)
    async with db.uow() as uow:
        await uow.people.get_or_create("tg:42", Platform.TELEGRAM, "ru")
        await uow.dialogs.save("tg:42", "consent", {"history": []})  # saw the consent screen only
        for key in ("tg:43", "tg:44"):
            person, _ = await uow.people.get_or_create(key, Platform.TELEGRAM, "ru")
            await uow.people.give_consent(person, "v-test", utcnow())
        await uow.dialogs.save("tg:43", "menu", {"history": []})  # got the old separate question
        await uow.dialogs.save("tg:44", "lang", {"history": ["menu"], "_pending": [OLD_PENDING]})

    await migrate(db.engine)

    messenger = FakeMessenger()
    service = conversation(db, messenger, translators, directory)
    first = Person(service, user_id=42)
    await first.press("consent", "yes")
    asked = messenger.sent[-1][1]
    values = {b.payload.value for row in asked.buttons for b in row if b.payload}
    assert {"ann_yes", "ann_no", "sos"} <= values, "the new step: its own question, the 🆘 too"
    await first.press("*", "ann_yes")
    second = Person(service, user_id=43)
    before = len(messenger.sent)
    await second.press("*", "ann_yes")  # the old separate question's button
    assert len(messenger.sent) == before, "answered in place (a toast), the menu stays"
    async with db.uow() as uow:
        assert (await uow.people.get("tg:43")).announcements  # type: ignore[union-attr]
    third = Person(service, user_id=44)
    await third.press("lang", "ru")
    shown = [screen.text for chat, screen in messenger.sent if chat == 44]
    assert any("Старое объявление" in t for t in shown), "the kept announcement, after the step"
    async with db.uow() as uow:
        states = {key: await uow.dialogs.load(key) for key in ("tg:42", "tg:43")}
        people = {key: await uow.people.get(key) for key in ("tg:42", "tg:43")}
    assert states["tg:42"] is not None and states["tg:42"][0] == "menu"
    assert states["tg:43"] is not None and states["tg:43"][0] == "menu"
    assert all(p is not None and p.announcements for p in people.values())

    job = BroadcastJob(
        db,
        push=service.push,
        messengers={Platform.TELEGRAM: messenger},
        translators=translators,
        directory=directory,
        settings=BroadcastSettings(quiet=None),
    )
    while await job.run_once(utcnow()):
        pass
    for chat in (42, 43):
        got = [s for c, s in messenger.sent if c == chat and "Раздача в субботу" in s.text]
        assert len(got) == 1 and got[0].files == () and not got[0].paid, "the old row, sent as before"
    await db.dispose()
