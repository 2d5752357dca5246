"""A stop lets a background tick in hand finish its round (APScheduler's shutdown cancels the ticks it
started: the row in hand was cut in half, with a traceback in the log)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest

from bot.sandbox.telegram.emulator import TelegramEmulator
from handlers.inbox import Inbox
from tests.e2e import start_app


async def test_a_stop_waits_for_the_tick_in_hand(
    emulator: TelegramEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    entered, finished = asyncio.Event(), asyncio.Event()
    run_once = Inbox.run_once

    async def slow_round(self: Inbox, now: datetime) -> int:
        if entered.is_set():
            return await run_once(self, now)
        entered.set()
        await asyncio.sleep(0.3)  # a round in hand when the stop comes
        finished.set()
        return await run_once(self, now)

    monkeypatch.setattr(Inbox, "run_once", slow_round)
    caplog.set_level(logging.WARNING)
    app = await start_app(emulator, db_url)
    await asyncio.wait_for(entered.wait(), 10)  # the inbox job ticks every half second
    await app.stop()
    assert finished.is_set(), "the round in hand ran to its end"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, caplog.text
