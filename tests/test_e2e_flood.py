"""A flood over Telegram polling: one person's waiting updates do not take the slots the others need."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.telegram.polling import InboxPolling
from storage.vocabulary import Platform
from tests.e2e import start_app

FLOODER, OTHERS = 8001, range(8101, 8106)
NOTICE = "Вы пишете очень быстро"


async def nothing_pending(app: Application) -> bool:
    assert app.db is not None
    async with app.db.uow() as uow:
        return not await uow.inbox.pending(Platform.TELEGRAM)


async def test_a_flooders_waiting_updates_leave_the_slots_to_the_others(
    emulator: TelegramEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    dispatched: list[int] = []  # the flooder's updates as they reach the Dispatcher
    read_plain: list[int] = []  # or the router, read from Telegram's data (a flooding lane's texts)
    handle, handle_flooded = InboxPolling._handle, InboxPolling._handle_flooded

    async def held(self: InboxPolling, raw: dict[str, Any]) -> None:
        # As Telegram sent it: updates wait in their lanes as plain data, read when handled.
        if raw.get("message", {}).get("chat", {}).get("id") == FLOODER:
            dispatched.append(raw["update_id"])
            await gate.wait()  # the flooder's turn takes long: their later updates pile up
        await handle(self, raw)

    async def flooded(self: InboxPolling, raw: dict[str, Any]) -> None:
        read_plain.append(raw["update_id"])
        await handle_flooded(self, raw)

    monkeypatch.setattr(InboxPolling, "max_in_flight", 3)
    monkeypatch.setattr(InboxPolling, "_handle", held)
    monkeypatch.setattr(InboxPolling, "_handle_flooded", flooded)
    app = await start_app(emulator, db_url)
    try:
        for n in range(150):
            emulator.message(FLOODER, f"сообщение {n}")
        for user in OTHERS:
            emulator.message(user, "/start")
        # Telegram gives 100 updates at a time: the others come in the second batch, taken only while
        # fewer than 3 people's updates are in hand. The flooder's 150 are one person's: one slot.
        for user in OTHERS:
            await emulator.wait_sent(user, 1, timeout=20)
        assert emulator.sent_to(FLOODER) == [], "the flooder's first update is still in hand"
        assert len(dispatched) == 1, "the others wait undispatched, without a task or a slot each"

        gate.set()
        await emulator.wait_for(lambda: any(NOTICE in (m.text or "") for m in emulator.sent_to(FLOODER)), 20)
        for _ in range(200):  # the inbox forgets handled updates in batches (every 0.5 s)
            if await nothing_pending(app):
                break
            await asyncio.sleep(0.05)
        assert await nothing_pending(app), "every one of the flooder's updates was handled"
        # The first went through aiogram; the 149 its lane let in after it, plain texts of a flood,
        # were read straight from Telegram's data (bot/telegram/polling.py), all in order.
        assert len(dispatched) == 1 and len(read_plain) == 149
        handled = dispatched + read_plain
        assert handled == sorted(handled) and len(set(handled)) == 150, "all of them, in order"
        to_flooder = [m.text or "" for m in emulator.sent_to(FLOODER)]
        assert sum(NOTICE in text for text in to_flooder) == 1, "told once"
        assert len(to_flooder) < 10, f"merged: {len(to_flooder)} answers to 150 messages"
    finally:
        gate.set()
        await app.stop()
