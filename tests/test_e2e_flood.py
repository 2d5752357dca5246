"""A flood over Telegram polling: one person's waiting updates do not take the slots the others need."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update

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
    dispatched: list[int] = []  # the flooder's updates as they are handled
    through_aiogram: list[Update] = []  # updates aiogram's Dispatcher was fed
    handle, feed_update = InboxPolling._handle, Dispatcher.feed_update

    async def held(self: InboxPolling, raw: dict[str, Any]) -> None:
        # As Telegram sent it: updates wait in their lanes as plain data, read when handled.
        if raw.get("message", {}).get("chat", {}).get("id") == FLOODER:
            dispatched.append(raw["update_id"])
            await gate.wait()  # the flooder's turn takes long: their later updates pile up
        await handle(self, raw)

    async def fed(self: Dispatcher, bot: Bot, update: Update, **kwargs: Any) -> Any:
        through_aiogram.append(update)
        return await feed_update(self, bot, update, **kwargs)

    monkeypatch.setattr(InboxPolling, "max_in_flight", 3)
    monkeypatch.setattr(InboxPolling, "_handle", held)
    monkeypatch.setattr(Dispatcher, "feed_update", fed)
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
        assert dispatched == sorted(dispatched) and len(set(dispatched)) == 150, "all of them, in order"
        # Plain private texts, the others' /start among them: read straight from Telegram's data
        # (bot/telegram/polling.py), none parsed and dispatched by aiogram.
        assert through_aiogram == []
        to_flooder = [m.text or "" for m in emulator.sent_to(FLOODER)]
        assert sum(NOTICE in text for text in to_flooder) == 1, "told once"
        assert len(to_flooder) < 10, f"merged: {len(to_flooder)} answers to 150 messages"
    finally:
        gate.set()
        await app.stop()
