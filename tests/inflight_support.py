"""Helpers for the bound on updates in flight: count the handlers running at once, from inside, and
record the order in which each person's turns were done."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.app import Application
from dialogs.primitives import Incoming
from handlers.conversation import Reply
from storage.vocabulary import Platform

Dispatch = Callable[[Any, dict[str, Any]], Awaitable[bool]]


class Running:
    """Wraps a transport's update handler (the one its InboxFeed calls): how many run at once, the
    most ever, and a gate that holds them (so a burst fills the bound before any finishes)."""

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


class Turns:
    """Every turn the conversation service finished, per person, in the order they finished: the
    person's lock is let go only as the turn returns, so this is the order they were handled in."""

    def __init__(self, app: Application) -> None:
        service = app.conversation
        assert service is not None
        self.by_person: dict[int, list[int]] = defaultdict(list)
        self.total = 0
        self._changed = asyncio.Condition()
        original = service.handle

        async def handle(incoming: Incoming) -> Reply:
            try:
                return await original(incoming)
            finally:
                if incoming.update_id is not None:
                    self.by_person[incoming.user_id].append(incoming.update_id)
                    self.total += 1
                async with self._changed:
                    self._changed.notify_all()

        service.handle = handle  # type: ignore[method-assign]

    async def until(self, count: int, timeout: float = 180.0) -> None:
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self.total >= count)

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
