"""Helpers for the bound on updates in flight: count the handlers running at once, from inside, and
the updates the inbox keeps. (The order each person's turns were done in: ``tests.e2e.HandledUpdates``.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.app import Application
from storage.vocabulary import Platform

Dispatch = Callable[[Any, dict[str, Any]], Awaitable[bool]]


class Running:
    """Wraps a transport's update handler (the one its InboxFeed calls): how many run at once, the
    most ever, and a gate that holds them (so a burst fills the bound before any finishes).

    Not ``HandledUpdates``: that one wraps an app's conversation service once it is started and
    counts turns as they end; this one wraps the transport's class before the start (the start
    itself feeds what the inbox kept), counts handlers while they run, whatever the update, and
    holds them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, transport: type[Any]) -> None:
        self.now = 0
        self.peak = 0
        self.calls = 0
        self.gate = asyncio.Event()
        self._changed = asyncio.Condition()
        original: Dispatch = transport._dispatch

        async def counted(owner: Any, raw: dict[str, Any]) -> bool:
            self.now += 1
            self.calls += 1
            self.peak = max(self.peak, self.now)
            async with self._changed:
                self._changed.notify_all()
            try:
                await self.gate.wait()
                return await original(owner, raw)
            finally:
                self.now -= 1

        monkeypatch.setattr(transport, "_dispatch", counted)

    async def until(self, count: int, timeout: float = 30.0) -> None:
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self.now >= count)

        await asyncio.wait_for(reached(), timeout)


async def kept(app: Application, platform: Platform) -> int:
    """How many updates the inbox holds unfinished."""
    assert app.db is not None
    async with app.db.uow() as uow:
        return len(await uow.inbox.pending(platform))


async def until_kept(app: Application, platform: Platform, count: int) -> None:
    """Until the inbox holds exactly ``count`` unfinished updates."""
    for _ in range(600):
        if await kept(app, platform) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} updates were not kept")
