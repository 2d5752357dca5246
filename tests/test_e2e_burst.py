"""A burst queues at Telegram instead of becoming thousands of tasks: the updates in flight are bounded."""

from __future__ import annotations

import asyncio

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

    async def held(self: InboxPolling, update: object) -> None:
        await gate.wait()  # the turns take long: the bound fills up
        await handle(self, update)  # type: ignore[arg-type]

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
