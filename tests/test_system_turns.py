"""Turns the system starts (follow-ups, offers, announcements): through the dialog, never on top of it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dialogs.directory import Directory
from dialogs.i18n import N_, Translators
from dialogs.primitives import Event, EventKind, Notice, SystemEvent
from handlers.conversation import IDLE_AFTER, ConversationService
from storage.models import utcnow
from storage.uow import Database
from tests.fakes import FakeMessenger, Family, conversation

# Any message of the catalogs will do: the point is that it is translated for the person.
CHECK_IN = N_("✉️ Sent to your coordinator (request #{n}).")


class Clock:
    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.shift


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_service(
    db: Database, messenger: FakeMessenger, translators: Translators, directory: Directory, clock: Clock
) -> ConversationService:
    return conversation(db, messenger, translators, directory, clock=clock)


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


@pytest.fixture
def service(
    db: Database, messenger: FakeMessenger, translators: Translators, directory: Directory, clock: Clock
) -> ConversationService:
    return make_service(db, messenger, translators, directory, clock)


async def at_menu(service: ConversationService) -> Family:
    family = Family(service)
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    await family.press("consent", "yes")
    await family.press("*", "ann_no")  # the announcements question, its own step
    return family


def texts(messenger: FakeMessenger) -> list[str]:
    return [screen.text for _chat, screen in messenger.sent]


async def test_a_family_at_rest_gets_it_at_once_in_its_language(
    service: ConversationService, messenger: FakeMessenger, db: Database
) -> None:
    await at_menu(service)
    before = len(messenger.sent)
    assert await service.push("tg:42", Notice(message=CHECK_IN, params={"n": 7}))
    [(chat, screen)] = messenger.sent[before:]
    assert chat == 42
    assert screen.text == "✉️ Передано вашему координатору (заявка #7)."
    async with db.uow() as uow:
        stored = await uow.dialogs.load("tg:42")
    assert stored is not None and stored[0] == "menu" and "_pending" not in stored[1]


async def test_mid_step_it_waits_for_the_end_of_the_dialog_and_survives_a_restart(
    db: Database,
    messenger: FakeMessenger,
    translators: Translators,
    directory: Directory,
    service: ConversationService,
    clock: Clock,
) -> None:
    family = await at_menu(service)
    await family.press("menu", "new")
    await family.press("t_danger", "no")
    await family.press("t_category", "other")
    before = len(messenger.sent)
    assert await service.push("tg:42", Notice(message=CHECK_IN, params={"n": 7}))
    assert messenger.sent[before:] == [], "nothing on top of the question being answered"
    async with db.uow() as uow:
        stored = await uow.dialogs.load("tg:42")
    assert stored is not None and stored[0] == "t_children" and stored[1]["_pending"][0]["kind"] == "notice"

    # A restart: a new service over the same database still knows what waits.
    again = make_service(db, messenger, translators, directory, clock)
    family.service = again
    await family.press("t_children", "0")
    assert not any("(заявка #7)" in text for text in texts(messenger)[before:]), "still in the middle"
    await family.send(Event(kind=EventKind.COMMAND, command="menu"))
    shown = texts(messenger)
    assert "(заявка #7)" in shown[-1], "after the person's own step, not before it"
    assert "Чем мы можем помочь?" in shown[-2], "the menu the person asked for comes first"
    async with db.uow() as uow:
        stored = await uow.dialogs.load("tg:42")
    assert stored is not None and "_pending" not in stored[1]
    assert stored[1]["draft"] is not None, "the unfinished request is kept"


async def test_a_person_who_left_a_step_long_ago_gets_it_with_the_step_again(
    service: ConversationService, messenger: FakeMessenger, clock: Clock
) -> None:
    family = await at_menu(service)
    await family.press("menu", "new")
    await family.press("t_danger", "no")
    clock.shift = IDLE_AFTER + timedelta(minutes=1)
    before = len(messenger.sent)
    assert await service.push("tg:42", Notice(message=CHECK_IN, params={"n": 3}))
    sent = texts(messenger)[before:]
    assert len(sent) == 2 and "(заявка #3)" in sent[0], sent
    assert sent[1] == texts(messenger)[before - 1], "the question they left, shown again"


async def test_nobody_unreachable_deleted_or_unknown_is_written_to(
    service: ConversationService, messenger: FakeMessenger, db: Database
) -> None:
    assert not await service.push("tg:404", Notice(message=CHECK_IN, params={"n": 1}))
    family = await at_menu(service)
    async with db.uow() as uow:
        await uow.people.set_reachable("tg:42", False)
    before = len(messenger.sent)
    assert not await service.push("tg:42", Notice(message=CHECK_IN, params={"n": 1}))
    async with db.uow() as uow:
        await uow.people.set_reachable("tg:42", True)
    await family.send(Event(kind=EventKind.COMMAND, command="delete_my_data"))
    await family.press("delete_confirm", "yes")
    async with db.uow() as uow:
        person = await uow.people.get("tg:42")
    assert person is None or person.deleted_at is not None
    before = len(messenger.sent)
    assert not await service.push("tg:42", Notice(message=CHECK_IN, params={"n": 1}))
    assert messenger.sent[before:] == []


def test_saved_system_events_load_back_and_unknown_ones_are_dropped() -> None:
    notice = Notice(message=CHECK_IN, params={"n": 5})
    assert SystemEvent.load(notice.dump()) == notice
    assert SystemEvent.load({"kind": "from-a-future-version"}) is None
    assert SystemEvent.load({"kind": "notice", "message": 5, "params": "bad"}) is None
