"""Regressions from the review of the coordinators' side."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.models import Outbox, RelayedMessage, Ticket
from tests.e2e import GROUP, Parent, cards, introduce, press, settled
from tests.flows_support import ASSIGNEE, claimed, copies_to, finish, group_says, to_description


async def test_a_reply_goes_to_the_ticket_it_answers(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    card = await claimed(family, emulator, desk_app)  # legal, claimed by ASSIGNEE
    await group_says(emulator, desk_app, ASSIGNEE, "Какой у вас вопрос по алиментам?", card.message_id)
    await emulator.wait_for(lambda: len(copies_to(emulator, family.chat_id)) == 1)
    coordinator_message = copies_to(emulator, family.chat_id)[0]
    # A second open request of another kind: its card is newer.
    await family.walk("new", "no", "humanitarian", "food", "done", "week", "0", "r.msk")
    await family.say("Нужна еда")
    await finish(family)
    await emulator.wait_for(lambda: len(cards(emulator)) == 1)
    await settled(desk_app)
    await family.send(text="Он не платит с мая", reply_to_message_id=coordinator_message.message_id)
    await emulator.wait_for(lambda: any(m.text == "Он не платит с мая" for m in copies_to(emulator, GROUP)))
    copy = next(m for m in copies_to(emulator, GROUP) if m.text == "Он не платит с мая")
    coordinator_original = next(
        m for m in emulator.user_messages[GROUP] if m.text == "Какой у вас вопрос по алиментам?"
    )
    assert copy.params["reply_parameters"]["message_id"] == coordinator_original.message_id
    await settled(desk_app)  # the copy is seen a moment before the worker commits its map
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        legal = (await uow.session.scalars(select(Ticket).where(Ticket.category == "legal"))).one()
        mapped = await uow.relay.by_group_message(f"tg:{GROUP}", copy.message_id)
    assert mapped is not None and mapped.ticket_id == legal.id


async def test_a_shared_phone_is_not_copied_into_the_group(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    await to_description(family)
    await family.say("Позвоните мне")
    await finish(family)
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(desk_app)
    replies = await family.send(contact_phone="+79990001122")
    assert "только ваш координатор" in family.texts(replies)
    await emulator.wait_for(
        lambda: any("поделилась номером" in (m.text or "") for m in emulator.sent_to(GROUP))
    )
    assert not copies_to(emulator, GROUP)
    assert all("9990001122" not in str(m.params) for m in emulator.sent_to(GROUP))
    introduce(emulator, ASSIGNEE, "Анна")
    [card] = cards(emulator)
    await press(emulator, ASSIGNEE, card, emulator.button_data(card, "Беру"))
    answer = await press(
        emulator, ASSIGNEE, card, emulator.button_data(emulator.sent_to(GROUP)[0], "телефон")
    )
    assert "+79990001122" in answer["text"]


async def test_a_long_story_keeps_the_card_one_message(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    await to_description(family)
    await family.say("<&>" * 1150)  # escapes to ~10,000 characters
    await finish(family)
    await emulator.wait_for(
        lambda: any("вся история" in (m.text or "").lower() for m in emulator.sent_to(GROUP))
    )
    [card] = cards(emulator)
    assert len(card.params["text"]) <= 4096
    introduce(emulator, ASSIGNEE, "Анна")
    await press(emulator, ASSIGNEE, card, emulator.button_data(card, "Беру"))
    await emulator.wait_for(lambda: "Закрыть" in str(emulator.buttons(emulator.sent_to(GROUP)[0])))


async def test_deleting_data_clears_the_coordinators_side(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    await claimed(family, emulator, desk_app)
    await family.say("Мой адрес: Ленина, 5")
    await emulator.wait_for(lambda: len(copies_to(emulator, GROUP)) == 1)
    await settled(desk_app)
    copy = copies_to(emulator, GROUP)[0]
    await family.say("/delete_my_data")
    await family.tap_value("yes")
    await emulator.wait_for(lambda: copy.message_id in emulator.deleted.get(GROUP, set()))
    await settled(desk_app)
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        relayed = await uow.session.scalar(select(func.count()).select_from(RelayedMessage))
        payloads = [row.payload for row in (await uow.session.scalars(select(Outbox))).all()]
    assert relayed == 0
    assert all(str(family.chat_id) not in str(p) for p in payloads)
    assert "Семья отозвала заявку" in (emulator.sent_to(GROUP)[0].text or "")


async def test_a_reply_to_a_note_is_not_silently_dropped(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    await claimed(family, emulator, desk_app)
    await family.send(document=True)  # goes into the thread as a copy; its files note is the bot's
    await family.say("/requests")
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        ticket = (await uow.session.scalars(select(Ticket))).one()
    await family.tap_value(f"add.{ticket.id}")
    await family.say("Дополнение")
    await family.tap_value("send")
    await emulator.wait_for(lambda: any("дополнила" in (m.text or "") for m in emulator.sent_to(GROUP)))
    note = next(m for m in emulator.sent_to(GROUP) if "дополнила" in (m.text or ""))
    await group_says(emulator, desk_app, ASSIGNEE, "Понял", note.message_id)
    await emulator.wait_for(
        lambda: any("Никому не отправлено" in (m.text or "") for m in emulator.sent_to(GROUP))
    )


async def test_the_coordinator_learns_when_the_family_cannot_be_told(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    await to_description(family)
    await family.say("Нужна помощь юриста")
    await finish(family)
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(desk_app)
    emulator.my_chat_member(family.user_id, "kicked")  # the family blocks the bot
    await emulator.wait_for(lambda: family.user_id in emulator.blocked)
    assert desk_app.db is not None
    for _ in range(100):
        async with desk_app.db.uow() as uow:
            person = await uow.people.get(f"tg:{family.user_id}")
        if person is not None and not person.reachable:
            break
        await asyncio.sleep(0.05)
    introduce(emulator, ASSIGNEE, "Анна")
    [card] = cards(emulator)
    answer = await press(emulator, ASSIGNEE, card, emulator.button_data(card, "Беру"))
    assert "сообщить не удалось" in answer["text"]
