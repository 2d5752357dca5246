"""Blocking a person from the card, what a blocked person sees, unblocking, and the open-request cap,
end to end: the real aiogram Bot against the Telegram emulator (and the card's buttons in a VK
conversation)."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.models import Outbox, Ticket, TicketPost, utcnow
from tests.desk_support import actions, blocked_by, bot_messages, group_says, person_of, request, tickets_of
from tests.e2e import Parent, cards, introduce, press, settled
from tests.flows_support import agree

OLGA = 201


async def test_a_coordinator_blocks_a_person_from_the_card_and_unblocks_them(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    introduce(emulator, OLGA, "Ольга")
    await agree(family)
    assert "принята" in await request(family)
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(desk_app)
    [card] = cards(emulator)
    [first] = await tickets_of(desk_app, "tg:6001")

    # Blocking asks first, on the card; nothing is decided yet.
    answer = await press(emulator, OLGA, card, emulator.button_data(card, "Заблокировать"))
    assert "Заблокировать этого человека?" in answer["text"]
    await emulator.wait_for(lambda: any(":block-yes" in d for _t, d in emulator.buttons(card)))
    assert await blocked_by(desk_app, "tg:6001") is None
    answer = await press(emulator, OLGA, card, emulator.button_data(card, "Назад"))
    await emulator.wait_for(lambda: any(":claim" in d for _t, d in emulator.buttons(card)))
    assert await blocked_by(desk_app, "tg:6001") is None

    await press(emulator, OLGA, card, emulator.button_data(card, "Заблокировать"))
    await emulator.wait_for(lambda: any(":block-yes" in d for _t, d in emulator.buttons(card)))
    answer = await press(emulator, OLGA, card, emulator.button_data(card, "Да, заблокировать"))
    assert f"/unblock {first.id}" in answer["text"]
    await emulator.wait_for(lambda: "заблокирован" in (card.text or ""))
    assert any(":unblock" in d for _t, d in emulator.buttons(card))
    assert await blocked_by(desk_app, "tg:6001") == f"tg:{OLGA}"
    assert "block" in await actions(desk_app)
    # Pressing again (a second coordinator, an old card) changes nothing.
    answer = await press(emulator, 202, card, f"d:tk:block-yes.{first.id}")
    assert "уже заблокирован" in answer["text"]
    assert (await actions(desk_app)).count("block") == 1

    # The blocked person's new request is kept, not posted; they get a kind answer with the numbers.
    posted = len(bot_messages(emulator))
    said = await request(family, "other", "Опять пишу")
    assert "сохранено" in said and "112" in said and "8-800-2000-122" in said
    assert "блок" not in said.lower(), "a blocked person is not told"
    held = [t for t in await tickets_of(desk_app, "tg:6001") if t.id != first.id]
    assert [t.status for t in held] == ["held"]
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        queued = (await uow.session.scalars(select(Outbox).where(Outbox.ticket_id == held[0].id))).all()
        posts = (
            await uow.session.scalars(select(TicketPost).where(TicketPost.ticket_id == held[0].id))
        ).all()
    assert queued == [] and posts == []
    await settled(desk_app)
    assert len(bot_messages(emulator)) == posted, "nothing reached the coordinators"
    # The emergency numbers are still on every screen and one word away.
    last = family.last_with_buttons()
    assert any(d.endswith(":sos") for _t, d in emulator.buttons(last))
    assert "112" in family.texts(await family.say("/sos"))

    # /unblock <number> in the group undoes it; then a new request reaches the group again.
    [reply] = await group_says(emulator, OLGA, "/unblock 999")
    assert "нет заявки #999" in (reply.text or "")
    [reply] = await group_says(emulator, OLGA, f"/unblock {first.id}")
    assert "Разблокирован" in (reply.text or "")
    assert await blocked_by(desk_app, "tg:6001") is None
    await emulator.wait_for(lambda: "заблокирован" not in (card.text or ""))
    assert (await actions(desk_app))[-1] == "unblock"
    family.seen = max(m.message_id for m in emulator.sent_to(family.chat_id))
    await family.say("/start")
    said = await request(family, "legal", "Снова нужна помощь")  # joins the open legal request
    assert "уже есть открытая заявка" in said
    await emulator.wait_for(
        lambda: any("Снова нужна помощь" in (m.text or "") for m in bot_messages(emulator))
    )


async def test_unblocking_by_the_card_button(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    await agree(family)
    await request(family)
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(desk_app)
    [card] = cards(emulator)
    ticket_id = (await tickets_of(desk_app, "tg:6001"))[0].id
    await press(emulator, OLGA, card, f"d:tk:block-yes.{ticket_id}")
    await emulator.wait_for(lambda: any(":unblock" in d for _t, d in emulator.buttons(card)))
    answer = await press(emulator, OLGA, card, emulator.button_data(card, "Разблокировать"))
    assert "Разблокирован" in answer["text"]
    assert await blocked_by(desk_app, "tg:6001") is None
    answer = await press(emulator, OLGA, card, f"d:tk:unblock.{ticket_id}")
    assert "не заблокирован" in answer["text"]
    assert await actions(desk_app) == ["card_posted", "block", "unblock"]


async def test_a_fourth_open_request_is_refused_kindly_with_the_open_ones(
    family: Parent, emulator: TelegramEmulator, desk_app: Application
) -> None:
    await agree(family)
    person = await person_of(desk_app, "tg:6001")
    assert desk_app.db is not None
    async with desk_app.db.uow() as uow:
        for category in ("legal", "humanitarian", "housing"):
            await uow.tickets.create(
                person_id=person.id,
                category=category,
                contact_method="chat",
                locale="ru",
                created_at=utcnow(),
            )
    said = await request(family, "other", "Ещё одна просьба")
    assert "У вас уже 3 открытые заявки" in said
    numbers = [t.id for t in await tickets_of(desk_app, "tg:6001")]
    assert all(f"#{n}" in said for n in numbers) and len(numbers) == 3, "refused: nothing new was saved"
    assert "112" in said
    # The answers are kept: once a request is closed, the same one can be sent.
    async with desk_app.db.uow() as uow:
        stored = await uow.dialogs.load("tg:6001")
        ticket = await uow.session.get(Ticket, numbers[0])
        assert ticket is not None
        ticket.status = "closed"
    assert stored is not None and stored[1]["draft"]["description"] == "Ещё одна просьба"
    await family.tap_value("continue")
    said = family.texts(await family.walk("send"))
    assert "принята" in said
    assert len(await tickets_of(desk_app, "tg:6001")) == 4
