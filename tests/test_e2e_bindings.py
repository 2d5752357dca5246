"""Admins bind chats to regions and categories; each ticket goes to the most specific binding."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import SentMessage, TelegramEmulator
from storage.models import Ticket
from tests.e2e import GROUP, cards, introduce, make_tickets, press, settled, start_app

LEGAL = -1002000000001
LEGAL_MOSCOW = -1002000000002
ADMIN, STRANGER = 900, 901
BOT_ID = 42  # the emulator's bot


@pytest.fixture
async def routed_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}", admin_ids=f"tg:{ADMIN}")
    yield app
    await app.stop()


async def command(emulator: TelegramEmulator, chat_id: int, user_id: int, text: str) -> SentMessage:
    before = len(emulator.sent_to(chat_id))
    emulator.message(user_id, text, chat_id=chat_id, chat_type="supergroup")
    await emulator.wait_for(lambda: len(emulator.sent_to(chat_id)) > before)
    return emulator.sent_to(chat_id)[-1]


async def tap(
    emulator: TelegramEmulator, chat_id: int, user_id: int, message: SentMessage, label: str
) -> None:
    answers = len(emulator.callback_answers)
    edits = message.edits
    emulator.callback(user_id, message.message_id, emulator.button_data(message, label), chat_id=chat_id)
    await emulator.wait_for(lambda: len(emulator.callback_answers) > answers)
    await emulator.wait_for(
        lambda: message.edits > edits or bool(list(emulator.callback_answers.values())[-1].get("text"))
    )


async def bind(emulator: TelegramEmulator, chat_id: int, category: str, region: str) -> SentMessage:
    menu = await command(emulator, chat_id, ADMIN, "/bind")
    await tap(emulator, chat_id, ADMIN, menu, category)
    await tap(emulator, chat_id, ADMIN, menu, region)
    return menu


async def chats_of(app: Application, ids: list[int]) -> list[str | None]:
    assert app.db is not None
    async with app.db.uow() as uow:
        tickets = (
            await uow.session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id))
        ).all()
    return [t.chat for t in tickets]


async def test_the_most_specific_binding_wins(emulator: TelegramEmulator, routed_app: Application) -> None:
    introduce(emulator, ADMIN, "Админ")
    emulator.member_status[(LEGAL, BOT_ID)] = "member"  # the bot is not an admin in this one
    done = await bind(emulator, LEGAL, "Юридическая", "Любой регион")
    assert "Теперь в этот чат приходят заявки: юридическая помощь · любой регион" in (done.text or "")
    assert "не администратор" in (done.text or ""), "the bot says what rights it lacks"
    done = await bind(emulator, LEGAL_MOSCOW, "Юридическая", "Москва")
    assert "не администратор" not in (done.text or "")
    legal_moscow = await make_tickets(routed_app, 1, category="legal", region_code="msk")
    legal_spb = await make_tickets(routed_app, 1, category="legal", region_code="spb")
    food = await make_tickets(routed_app, 1, category="humanitarian", region_code="msk")
    await settled(routed_app)
    assert await chats_of(routed_app, legal_moscow + legal_spb + food) == [
        f"tg:{LEGAL_MOSCOW}",
        f"tg:{LEGAL}",
        f"tg:{GROUP}",
    ]
    listing = await command(emulator, LEGAL_MOSCOW, STRANGER, "/bindings")
    assert "юридическая помощь · Москва" in (listing.text or "")
    assert f"tg:{LEGAL_MOSCOW}" in (listing.text or ""), "the chat's id, for COORDINATOR_CHAT"


async def test_only_admins_bind_and_unbind(emulator: TelegramEmulator, routed_app: Application) -> None:
    refused = await command(emulator, LEGAL, STRANGER, "/bind")
    assert "только администраторы" in (refused.text or "")
    await bind(emulator, LEGAL, "Юридическая", "Любой регион")
    # A stranger pressing the admin's buttons changes nothing.
    menu = await command(emulator, LEGAL, ADMIN, "/unbind")
    answers = len(emulator.callback_answers)
    emulator.callback(STRANGER, menu.message_id, emulator.button_data(menu, "✖️"), chat_id=LEGAL)
    await emulator.wait_for(lambda: len(emulator.callback_answers) > answers)
    [first] = await make_tickets(routed_app, 1, category="legal")
    await settled(routed_app)
    assert await chats_of(routed_app, [first]) == [f"tg:{LEGAL}"]
    await tap(emulator, LEGAL, ADMIN, menu, "✖️")
    assert "не приходят" in (menu.text or "")
    [second] = await make_tickets(routed_app, 1, category="legal")
    await settled(routed_app)
    assert await chats_of(routed_app, [second]) == [f"tg:{GROUP}"]


async def test_transfer_moves_a_ticket_to_the_chat_that_takes_it(
    emulator: TelegramEmulator, routed_app: Application
) -> None:
    introduce(emulator, ADMIN, "Админ")
    await bind(emulator, LEGAL, "Юридическая", "Любой регион")
    family_key = 70000  # make_tickets' first family
    [ticket_id] = await make_tickets(routed_app, 1, category="humanitarian", region_code="msk")
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(routed_app)
    [card] = cards(emulator)
    await press(emulator, 101, card, emulator.button_data(card, "Беру"))
    # Only the assignee (or an admin) may transfer.
    refused = await press(emulator, 102, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Передать"))
    assert "только координатор" in refused["text"].lower()
    await tap(emulator, GROUP, 101, emulator.sent_to(GROUP)[0], "Передать")
    await tap(emulator, GROUP, 101, emulator.sent_to(GROUP)[0], "Юридическая")
    await tap(emulator, GROUP, 101, emulator.sent_to(GROUP)[0], "Тот же регион")
    await emulator.wait_for(
        lambda: bool(emulator.sent_to(LEGAL)) and "#" in (emulator.sent_to(LEGAL)[-1].text or "")
    )
    await settled(routed_app)
    old = emulator.sent_to(GROUP)[0]
    assert "Передано: юридическая помощь · Москва" in (old.text or "")
    assert not emulator.buttons(old)
    new_card = emulator.sent_to(LEGAL)[-1]
    assert f"#{ticket_id}" in (new_card.text or "") and "Беру" in str(emulator.buttons(new_card))
    assert routed_app.db is not None
    async with routed_app.db.uow() as uow:
        moved = await uow.tickets.get(ticket_id)
    assert moved is not None
    assert (moved.chat, moved.status, moved.assignee, moved.category) == (f"tg:{LEGAL}", "new", None, "legal")
    assert any("передали специалистам" in (m.text or "") for m in emulator.sent_to(family_key))
