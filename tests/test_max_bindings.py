"""An admin binds a MAX group chat with /bind; tickets of that kind reach it, whatever the family's app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.sandbox.max.emulator import MaxEmulator, MaxMessage, MaxUser
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.models import Ticket
from tests.e2e import GROUP, make_tickets, settled
from tests.max_e2e import start_max_app

MAX_LEGAL = -7000000002
ADMIN, STRANGER = 9100, 9199


@pytest.fixture
async def routed(max_emu: MaxEmulator, emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_max_app(
        max_emu, db_url, telegram=emulator, coordinator_chat=f"tg:{GROUP}", admin_ids=f"max:{ADMIN}"
    )
    yield app
    await app.stop()


async def command(emu: MaxEmulator, user: MaxUser, text: str) -> MaxMessage:
    def answers() -> list[MaxMessage]:
        return [m for m in emu.in_chat(MAX_LEGAL) if m.from_bot]

    before = len(answers())
    await user.write(text, chat_id=MAX_LEGAL)
    await emu.wait_for(lambda: len(answers()) > before)
    return answers()[-1]


async def tap(emu: MaxEmulator, user: MaxUser, menu: MaxMessage, label: str) -> None:
    edits, answers = menu.edits, len(emu.answers)
    [button] = [b for b in menu.buttons() if label in b["text"]]
    await user.press(menu, button["payload"])
    await emu.wait_for(lambda: menu.edits > edits or len(emu.answers) > answers)


async def chats_of(app: Application, ids: list[int]) -> list[str | None]:
    assert app.db is not None
    async with app.db.uow() as uow:
        rows = (await uow.session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id))).all()
    return [t.chat for t in rows]


async def test_an_admin_binds_a_max_chat(max_emu: MaxEmulator, routed: Application) -> None:
    admin, stranger = max_emu.user(ADMIN, name="Админ"), max_emu.user(STRANGER, name="Гость")
    refused = await command(max_emu, stranger, "/bind")
    assert "только администраторы" in refused.text
    menu = await command(max_emu, admin, "/bind")
    # A stranger pressing the admin's buttons changes nothing.
    [first] = [b for b in menu.buttons() if "Юридическая" in b["text"]]
    answers = len(max_emu.answers)
    await stranger.press(menu, first["payload"])
    await max_emu.wait_for(lambda: len(max_emu.answers) > answers)
    await tap(max_emu, admin, menu, "Юридическая")
    await tap(max_emu, admin, menu, "Любой регион")
    assert "юридическая помощь · любой регион" in menu.text
    legal = await make_tickets(routed, 1, category="legal", region_code="msk")
    food = await make_tickets(routed, 1, category="humanitarian", region_code="msk")
    await settled(routed)
    assert await chats_of(routed, legal + food) == [f"max:{MAX_LEGAL}", f"tg:{GROUP}"]
    assert any(f"#{legal[0]}" in m.text for m in max_emu.in_chat(MAX_LEGAL) if m.from_bot)
    listing = await command(max_emu, stranger, "/bindings")
    assert f"max:{MAX_LEGAL}" in listing.text, "the chat's id, for COORDINATOR_CHAT"
