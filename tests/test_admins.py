"""/admins: admins kept in the database beside ADMIN_IDS (the root of trust), honoured by every admin
command and button; and everyone else gets the unknown-command answer for every admin command, and
nothing for a forged admin button."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from dialogs.assembly import assemble
from dialogs.i18n import Translators
from dialogs.primitives import Role
from handlers.admins import TTL, AdminRoster
from handlers.sla import SlaSettings, SlaWatch
from storage.models import utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import Platform
from tests.directory_support import documents
from tests.e2e import GROUP, HandledUpdates, Parent, start_app
from tests.fakes import FakeMessenger, RecordingPacer
from tests.links_support import dialog_of

ROOT, HELPER, STRANGER = 903, 904, 905
UNKNOWN = "I don't know this command"
ADMIN_DIALOGS = [d for d in assemble().by_name.values() if d.roles == frozenset({Role.ADMIN})]
ADMIN_COMMANDS = sorted({name for d in ADMIN_DIALOGS for name in d.commands})
ADMIN_STEPS = sorted({name for d in ADMIN_DIALOGS for name in d.steps})


@pytest.fixture
async def admins_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, admin_ids=f"tg:{ROOT}", coordinator_chat=f"tg:{GROUP}")
    yield app
    await app.stop()


def person(emulator: TelegramEmulator, app: Application, user_id: int) -> Parent:
    return Parent(emulator=emulator, handled=HandledUpdates(app), user_id=user_id, language_code="en")


async def add_helper(root: Parent) -> str:
    await root.say("/admins")
    await root.tap_value("add")
    return root.texts(await root.say(str(HELPER)))  # a bare number is Telegram


def test_every_admin_dialog_is_covered() -> None:
    assert {"admin", "admins", "links", "directory", "figures", "broadcast"} <= set(ADMIN_COMMANDS)
    assert {"adm_home", "adm_list", "lnk_home", "fig_home"} <= set(ADMIN_STEPS)


async def test_an_added_admin_is_an_admin_at_once_and_can_be_removed(
    emulator: TelegramEmulator, admins_app: Application
) -> None:
    root, helper = person(emulator, admins_app, ROOT), person(emulator, admins_app, HELPER)
    await helper.say("/start")
    assert UNKNOWN in helper.texts(await helper.say("/admin"))
    answer = await add_helper(root)
    assert f"tg:{HELPER} is an admin now" in answer and f"tg:{HELPER}" in answer
    assert "Admin menu" in helper.texts(await helper.say("/admin"))
    text = helper.texts(await helper.say("/admins"))
    assert f"🔒 tg:{ROOT}" in text and f"• tg:{HELPER}" in text

    await root.say("/admins")
    answer = root.texts(await root.tap_value(f"rm.tg.{HELPER}"))
    assert f"tg:{HELPER} is no longer an admin" in answer
    assert UNKNOWN in helper.texts(await helper.say("/admin"))
    assert admins_app.db is not None
    async with admins_app.db.uow() as uow:
        assert list(await uow.admins.keys()) == []


async def test_a_stored_admin_cannot_remove_a_root_admin(
    emulator: TelegramEmulator, admins_app: Application
) -> None:
    root, helper = person(emulator, admins_app, ROOT), person(emulator, admins_app, HELPER)
    await helper.say("/start")
    await add_helper(root)
    menu = (await helper.say("/admins"))[-1]
    assert f"rm.tg.{ROOT}" not in str(emulator.buttons(menu))  # no button for it...
    replies = await helper.press(menu.message_id, f"d:adm_list:rm.tg.{ROOT}")  # ...nor a forged one
    assert "only the settings can remove them" in helper.texts(replies)
    assert "Admin menu" in root.texts(await root.say("/admin"))


async def test_removing_yourself_asks_first(emulator: TelegramEmulator, admins_app: Application) -> None:
    root, helper = person(emulator, admins_app, ROOT), person(emulator, admins_app, HELPER)
    await helper.say("/start")
    await add_helper(root)
    await helper.say("/admins")
    asked = helper.texts(await helper.tap_value(f"rm.tg.{HELPER}"))
    assert "Remove yourself" in asked
    await helper.tap_value("no")
    assert "Admin menu" in helper.texts(await helper.say("/admin"))
    await helper.say("/admins")
    await helper.tap_value(f"rm.tg.{HELPER}")
    assert "no longer an admin" in helper.texts(await helper.tap_value("yes"))
    assert UNKNOWN in helper.texts(await helper.say("/admin"))


async def test_a_bad_id_changes_nothing(emulator: TelegramEmulator, admins_app: Application) -> None:
    root = person(emulator, admins_app, ROOT)
    await root.say("/admins")
    await root.tap_value("add")
    for typed in ("abc", "tg:-5", "xx:12", "0"):
        assert "not an id like" in root.texts(await root.say(typed))
    assert admins_app.db is not None
    assert (await dialog_of(admins_app.db, f"tg:{ROOT}"))[0] == "adm_add"
    async with admins_app.db.uow() as uow:
        assert list(await uow.admins.keys()) == []


async def test_a_stored_admin_binds_a_coordinators_chat(
    emulator: TelegramEmulator, admins_app: Application
) -> None:
    """The group's /bind asks the same roster: a stored admin gets the choice, a stranger is refused."""
    root = person(emulator, admins_app, ROOT)
    await add_helper(root)
    for user_id, expected in ((STRANGER, "только администраторы"), (HELPER, "")):
        before = len(emulator.sent_to(GROUP))
        emulator.message(user_id, "/bind", chat_id=GROUP, chat_type="supergroup")
        await emulator.wait_for(lambda b=before: len(emulator.sent_to(GROUP)) > b)  # type: ignore[misc]
        answer = emulator.sent_to(GROUP)[-1]
        if expected:
            assert expected in (answer.text or "")
        else:
            assert emulator.buttons(answer), answer.text


async def test_a_family_gets_the_unknown_command_answer_for_every_admin_command(
    emulator: TelegramEmulator, admins_app: Application
) -> None:
    family = person(emulator, admins_app, STRANGER)
    await family.say("/start")
    await family.tap_value("yes")
    await family.tap_value("ann_no")  # announcements: their own question
    for command in ADMIN_COMMANDS:
        assert UNKNOWN in family.texts(await family.say(f"/{command}")), command
    assert admins_app.db is not None
    assert (await dialog_of(admins_app.db, f"tg:{STRANGER}"))[0] == "menu"


async def test_a_forged_admin_button_does_nothing(
    emulator: TelegramEmulator, admins_app: Application
) -> None:
    assert admins_app.db is not None
    family = person(emulator, admins_app, STRANGER)
    await family.say("/start")
    await family.tap_value("yes")
    await family.tap_value("ann_no")  # announcements: their own question
    menu = family.last_with_buttons()
    for step in ADMIN_STEPS:
        for value in ("export", "qr.tg", f"rm.tg.{ROOT}", "add", "yes", "admin"):
            await family.press(menu.message_id, f"d:{step}:{value}")
    assert documents(emulator, STRANGER) == []
    assert (await dialog_of(admins_app.db, f"tg:{STRANGER}"))[0] == "menu"
    async with admins_app.db.uow() as uow:
        assert list(await uow.admins.keys()) == []
    assert "Admin menu" in person(emulator, admins_app, ROOT).texts(
        await person(emulator, admins_app, ROOT).say("/admin")
    )


async def test_the_stored_admins_on_every_backend(db: Database) -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    async with db.uow() as uow:
        assert await uow.admins.add("tg:1", "tg:9", now)
        assert not await uow.admins.add("tg:1", "tg:9", now)
        assert await uow.admins.add("vk:2", "tg:9", now)
    roster = AdminRoster({"tg:9"}, db)
    await roster.refresh()
    assert "vk:2" in roster and "tg:9" in roster and "tg:3" not in roster
    assert list(roster) == ["tg:9", "tg:1", "vk:2"] and roster.stored == ("tg:1", "vk:2")
    async with db.uow() as uow:
        assert await uow.admins.remove("tg:1")
        assert not await uow.admins.remove("tg:1")
    await roster.refresh()
    assert "tg:1" in roster  # read again only after TTL, or at once after a change here
    roster.changed()
    await roster.refresh()
    assert "tg:1" not in roster and list(roster) == ["tg:9", "vk:2"]


async def test_a_burst_of_updates_reads_the_stored_admins_once(db: Database) -> None:
    """Hundreds of updates ask for the roster at once when it is old: one read for all of them, but
    never a read that began before a change made here."""
    now = [0.0]
    roster = AdminRoster({"tg:9"}, db, clock=lambda: now[0])
    reads: list[int] = []
    real = db.uow
    lasting = {1: 0.1}  # the second read ends well after it read (and after the third), as under load

    @asynccontextmanager
    async def counted(**kwargs: Any) -> AsyncIterator[UnitOfWork]:
        reads.append(1)
        lasts = lasting.get(len(reads) - 1, 0.02)
        async with real(**kwargs) as uow:
            yield uow
            await asyncio.sleep(lasts)

    db.uow = counted  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(roster.refresh() for _ in range(300)))
        assert len(reads) == 1
        await asyncio.gather(*(roster.refresh() for _ in range(300)))
        assert len(reads) == 1  # fresh: not read again
        now[0] += TTL + 1
        first = asyncio.gather(*(roster.refresh() for _ in range(100)))
        await asyncio.sleep(0.01)  # that read has read the table
        async with real() as uow:
            assert await uow.admins.add("tg:1", "tg:9", datetime(2026, 11, 28, tzinfo=UTC))
        roster.changed()  # an admin added here meanwhile: that read missed them
        second = asyncio.gather(*(roster.refresh() for _ in range(100)))
        await second
        assert len(reads) == 3 and "tg:1" in roster and not first.done()
        await first  # the older read ends last: what it read is not kept over the newer
        assert "tg:1" in roster
        await roster.refresh()
        assert len(reads) == 3
    finally:
        db.uow = real  # type: ignore[method-assign]


async def test_a_failed_read_of_the_stored_admins_fails_its_waiters_and_is_tried_again(db: Database) -> None:
    roster = AdminRoster({"tg:9"}, db)
    async with db.uow() as uow:
        assert await uow.admins.add("tg:1", "tg:9", datetime(2026, 11, 28, tzinfo=UTC))
    real = db.uow
    down = True

    @asynccontextmanager
    async def flaky(**kwargs: Any) -> AsyncIterator[UnitOfWork]:
        await asyncio.sleep(0.01)
        if down:
            raise ConnectionError("the database is down")
        async with real(**kwargs) as uow:
            yield uow

    db.uow = flaky  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(*(roster.refresh() for _ in range(50)), return_exceptions=True)
        assert all(isinstance(r, ConnectionError) for r in results) and "tg:1" not in roster
        down = False
        await roster.refresh()
        assert "tg:1" in roster
    finally:
        db.uow = real  # type: ignore[method-assign]


async def test_sla_alerts_reach_the_stored_admins_too(db: Database, translators: Translators) -> None:
    messenger, pacer = FakeMessenger(), RecordingPacer()
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("tg:5", Platform.TELEGRAM, "ru")
        ticket = await uow.tickets.create(
            person_id=person.id, category="legal", description="x", contact_method="chat", locale="ru"
        )
        await uow.tickets.set_chat(ticket.id, f"tg:{GROUP}")
        await uow.admins.add("tg:904", "tg:903", utcnow())
    sla = SlaWatch(
        db,
        messengers={Platform.TELEGRAM: messenger},
        translators=translators,
        settings=SlaSettings(
            claim=timedelta(hours=2), claim_urgent=timedelta(minutes=15), admins=AdminRoster({"tg:903"}, db)
        ),
        pacer=pacer,
    )
    assert await sla.run_once(utcnow() + timedelta(hours=3)) == 3
    assert {chat for chat, _priority in pacer.asked} == {f"tg:{GROUP}", "tg:903", "tg:904"}
