"""A burst queues at Telegram instead of becoming thousands of tasks: the updates in flight are bounded."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiogram.fsm.storage.memory import MemoryStorage

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.telegram.app import TelegramTransport
from bot.telegram.polling import InboxPolling
from storage.vocabulary import Platform
from tests.e2e import start_app


async def until_kept(app: Application, count: int) -> None:
    assert app.db is not None
    for _ in range(200):
        async with app.db.uow() as uow:
            if len(await uow.inbox.pending(Platform.TELEGRAM)) >= count:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the updates were not taken")


async def test_polling_asks_for_no_more_while_the_updates_in_flight_are_at_the_bound(
    emulator: TelegramEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    handle = InboxPolling._handle

    async def held(self: InboxPolling, raw: dict[str, Any]) -> None:
        await gate.wait()  # the turns take long: the bound fills up
        await handle(self, raw)

    monkeypatch.setattr(InboxPolling, "max_in_flight", 3)
    monkeypatch.setattr(InboxPolling, "_handle", held)
    app = await start_app(emulator, db_url)
    try:
        people = range(7001, 7011)
        for user in people:
            emulator.message(user, "/start")
        await until_kept(app, len(people))
        asked = len(emulator.calls_of("getUpdates"))
        await asyncio.sleep(2.5)  # an idle bot asks again every second (polling_timeout=1)
        assert len(emulator.calls_of("getUpdates")) == asked, "no more updates taken while full"
        assert all(emulator.sent_to(user) == [] for user in people)

        gate.set()
        for user in people:
            await emulator.wait_sent(user, 1, timeout=20)
        await emulator.wait_for(lambda: len(emulator.calls_of("getUpdates")) > asked, timeout=10)
    finally:
        gate.set()
        await app.stop()


async def test_nothing_is_kept_per_person_by_aiogram(emulator: TelegramEmulator, db_url: str) -> None:
    """Each new person's /start is answered, and aiogram's FSM storage holds no record of them: a
    dialog's state lives in the database, and aiogram's memory storage would keep one record for every
    person who ever wrote, for the process's life (issue 13: memory flat as dialogs grow)."""
    app = await start_app(emulator, db_url)
    try:
        people = range(7101, 7131)
        for user in people:
            emulator.message(user, "/start")
        for user in people:
            await emulator.wait_sent(user, 1, timeout=20)
        (transport,) = (t for t in app.transports if isinstance(t, TelegramTransport))
        storage = transport.dispatcher.fsm.storage
        assert isinstance(storage, MemoryStorage)
        assert len(storage.storage) == 0, "a record kept for each person"
    finally:
        await app.stop()


async def test_an_update_aiogram_cannot_read_fails_no_one_else(
    emulator: TelegramEmulator, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Updates wait in their lanes as Telegram sent them and are read when handled. One that aiogram
    cannot read (a field of a kind it does not expect) no longer fails its whole batch: what can be
    read of a family's message is answered (an SOS is still an SOS), anything else is dropped with an
    error in the log, and the bot polls on. Read with the batch, as before, it failed the whole batch,
    again and again, and nobody was answered any more."""
    app = await start_app(emulator, db_url)
    private = {"type": "private", "first_name": "Анна"}
    try:
        emulator.message(7101, "/start")
        broken = {"message_id": 1, "date": 0, "chat": "not a chat", "from": {"id": 7102}, "text": "/start"}
        dropped = emulator._enqueue({"message": broken})
        sos = {"message_id": 2, "date": 0, "chat": {"id": 7105, **private}, "entities": "?", "text": "SOS"}
        answered = emulator._enqueue(
            {"message": {**sos, "from": {"id": 7105, "is_bot": False, "first_name": "Анна"}}}
        )
        odd = {"message_id": 3, "date": 0, "chat": {"id": 7106, **private}, "sticker": "?"}
        emulator._enqueue({"message": {**odd, "from": {"id": 7106, "is_bot": False, "first_name": "Ира"}}})
        emulator.message(7103, "/start")
        for user in (7101, 7103, 7105, 7106):
            await emulator.wait_sent(user, 1, timeout=20)
        emulator.message(7104, "/start")
        await emulator.wait_sent(7104, 1, timeout=20)
        assert app.db is not None
        for _ in range(100):  # handled updates are forgotten by the inbox's job (every 0.5 s)
            async with app.db.uow() as uow:
                if not await uow.inbox.pending(Platform.TELEGRAM):
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("an unreadable update stayed in the inbox")
    finally:
        await app.stop()
    assert any("112" in (m.text or "") for m in emulator.sent_to(7105)), "the SOS: the emergency numbers"
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"update {dropped} could not be read" in m and "message.chat" in m for _, m in logged)
    assert ("CRITICAL", next(m for _, m in logged if f"update {answered} " in m)) in logged, "an SOS: loudest"
    assert not any("SOS" in m or "not a chat" in m for _, m in logged), "where it failed, not what it said"
