"""The conversation use-case with a fake Messenger: transaction boundary and delivery failures."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from handlers.conversation import ConversationService
from handlers.ports import DeliveryFailedError, RecipientUnreachableError
from storage.models import Outbox, Ticket
from storage.uow import Database
from tests.fakes import FakeMessenger, Family, conversation


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


@pytest.fixture
def service(
    db: Database, messenger: FakeMessenger, translators: Translators, directory: Directory
) -> ConversationService:
    return conversation(db, messenger, translators, directory)


async def test_ticket_and_outbox_are_committed_before_the_reply(
    service: ConversationService, messenger: FakeMessenger, db: Database
) -> None:
    family = Family(service)
    await family.to_summary()
    messenger.fail_with = DeliveryFailedError("Telegram is down")
    await family.press("t_summary", "send")
    async with db.uow() as uow:
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
        [outbox] = (await uow.session.scalars(select(Outbox))).all()
        state = await uow.dialogs.load("tg:42")
    assert outbox.ticket_id == ticket.id and outbox.kind == "ticket_created" and outbox.done_at is None
    assert state is not None and state[0] == "menu"


async def test_unreachable_family_is_marked(
    service: ConversationService, messenger: FakeMessenger, db: Database
) -> None:
    family = Family(service)
    messenger.fail_with = RecipientUnreachableError("blocked")
    await family.text("привет")
    async with db.uow() as uow:
        person = await uow.people.get("tg:42")
    assert person is not None and person.reachable is False
    messenger.fail_with = None
    await family.text("снова")
    async with db.uow() as uow:
        person = await uow.people.get("tg:42")
    assert person is not None and person.reachable is True


async def test_toggle_edits_in_place_and_falls_back_to_a_new_message(
    service: ConversationService, messenger: FakeMessenger
) -> None:
    family = Family(service)
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    await family.press("consent", "yes")
    await family.press("menu", "new")
    await family.press("t_danger", "no")
    await family.press("t_category", "humanitarian")
    sent_before = len(messenger.sent)
    await family.press("q_hum_needs", "food")
    assert len(messenger.edited) == 1 and len(messenger.sent) == sent_before
    messenger.edit_ok = False
    await family.press("q_hum_needs", "baby")
    assert len(messenger.edited) == 2 and len(messenger.sent) == sent_before + 1


async def test_quick_exit_deletes_tracked_messages(
    service: ConversationService, messenger: FakeMessenger
) -> None:
    family = Family(service)
    await family.text("привет")
    await family.text("/erase")
    await family.send(Event(kind=EventKind.COMMAND, command="erase"))
    # The parent's three messages and the bot's replies before the exit.
    assert set(range(1, 4)) <= set(messenger.deleted)
    assert {1001, 1002} <= set(messenger.deleted)


async def test_one_open_ticket_per_family_and_category(
    service: ConversationService, messenger: FakeMessenger, db: Database
) -> None:
    family = Family(service)
    await family.to_summary()
    await family.press("t_summary", "send")
    await family.press("menu", "new")  # the same kind of help again
    await family.press("t_danger", "no")
    await family.press("t_category", "other")
    await family.press("t_children", "0")
    await family.press("t_region", "r.msk")
    await family.text("И ещё: нам отключили свет")
    await family.press("t_desc", "done")
    await family.press("t_contact", "chat")
    await family.press("t_summary", "send")
    async with db.uow() as uow:
        tickets = (await uow.session.scalars(select(Ticket))).all()
        kinds = [row.kind for row in (await uow.session.scalars(select(Outbox).order_by(Outbox.id))).all()]
    assert len(tickets) == 1
    assert kinds == ["ticket_created", "ticket_info_added"]
    assert f"#{tickets[0].id}" in messenger.sent[-2][1].text
    # Another kind of help is its own request.
    await family.press("menu", "new")
    await family.press("t_danger", "no")
    await family.press("t_category", "legal")
    await family.press("q_legal_topic", "alimony")
    await family.press("t_children", "0")
    await family.press("t_region", "r.msk")
    await family.text("Алименты")
    await family.press("t_desc", "done")
    await family.press("t_contact", "chat")
    await family.press("t_summary", "send")
    async with db.uow() as uow:
        assert len((await uow.session.scalars(select(Ticket))).all()) == 2
