"""A burst of a thousand updates on VK and MAX: at most the bound is handled at once, the rest waits
(at the platform for a long poll, in the inbox for a webhook); each is handled once, in each person's
order. The count comes from a wrapper around the transport's own handler, not from the bound itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app import Application
from bot.max.transport import MaxTransport, update_number
from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.vk.emulator import VkEmulator
from bot.vk.transport import VkTransport, event_number
from handlers.inbox import InboxFeed
from handlers.inflight import MAX_IN_FLIGHT
from storage.vocabulary import Platform
from tests.e2e import HandledUpdates
from tests.inflight_support import Running, kept, until_kept
from tests.max_e2e import start_max_app, start_max_webhook_app
from tests.vk_e2e import start_vk_app

PEOPLE = 250
TEXTS = 3  # each person: the start and three messages, a thousand updates in all
TOTAL = PEOPLE * (1 + TEXTS)


async def vk_burst(vk: VkEmulator) -> dict[int, list[int]]:
    """Every person's updates, in the order sent (as the conversation sees their ids)."""
    sent: dict[int, list[int]] = {}
    for n in range(PEOPLE):
        user = vk.user(610000 + n)
        events = [await user.start()] + [await user.write(f"сообщение {i}") for i in range(TEXTS)]
        sent[user.user_id] = [event_number(event_id, 0) for event_id in events]
    return sent


async def max_burst(emu: MaxEmulator) -> dict[int, list[int]]:
    sent: dict[int, list[int]] = {}
    for n in range(PEOPLE):
        user = emu.user(620000 + n)
        ids = [update_number("started", user.user_id, await user.start())]
        ids += [update_number(await user.write(f"сообщение {i}"), 0) for i in range(TEXTS)]
        sent[user.user_id] = ids
    return sent


@dataclass
class Held:
    """An app started with its transport's handlers counted and held (``Running``), and its turns."""

    running: Running
    app: Application
    turns: HandledUpdates

    async def released(self, sent: dict[int, list[int]]) -> None:
        """The handlers let go: every update handled once, in each person's order, the bound reached
        and never passed."""
        self.running.gate.set()
        await self.turns.until(TOTAL)
        assert self.running.peak == MAX_IN_FLIGHT
        assert self.running.calls == TOTAL
        assert self.turns.total == TOTAL
        for person, ids in sent.items():
            assert self.turns.by_person[person] == ids, (
                f"person {person}: handled once each, in the order sent"
            )


@asynccontextmanager
async def held(
    monkeypatch: pytest.MonkeyPatch, transport: type[Any], start: Callable[[], Awaitable[Application]]
) -> AsyncIterator[Held]:
    running = Running(monkeypatch, transport)  # before the start: it wraps the transport's class
    app = await start()
    try:
        yield Held(running, app, HandledUpdates(app))
    finally:
        running.gate.set()
        await app.stop()


async def test_a_vk_burst_waits_at_vk_beyond_the_bound(
    vk: VkEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with held(monkeypatch, VkTransport, lambda: start_vk_app(vk, db_url)) as burst:
        sent = await vk_burst(vk)
        await burst.running.until(MAX_IN_FLIGHT)
        await until_kept(burst.app, Platform.VK, TOTAL)  # all kept before any is handled
        polls = len(vk.lp_requests)
        await asyncio.sleep(1.5)  # an idle long poll would have asked again (wait=1 s in tests)
        assert burst.running.now == MAX_IN_FLIGHT, "the bound is full and holds"
        assert len(vk.lp_requests) == polls, "no more is asked of VK while the bound is full"

        await burst.released(sent)
        assert all(vk.sent_to(person) for person in sent), "every person was answered"
        await vk.wait_for(lambda: len(vk.lp_requests) > polls)  # asking again once there is room
    vk.assert_no_spec_errors()


async def test_a_max_burst_over_long_polling_stays_within_the_bound(
    max_emu: MaxEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def polls() -> int:
        return sum(1 for method, path, *_ in max_emu.calls if (method, path) == ("GET", "/updates"))

    async with held(monkeypatch, MaxTransport, lambda: start_max_app(max_emu, db_url)) as burst:
        sent = await max_burst(max_emu)
        await burst.running.until(MAX_IN_FLIGHT)
        await until_kept(burst.app, Platform.MAX, TOTAL)
        asked = polls()
        await asyncio.sleep(1.5)
        assert burst.running.now == MAX_IN_FLIGHT
        assert polls() == asked, "no more is asked of MAX while the bound is full"

        await burst.released(sent)
        assert all(max_emu.in_dialog(person) for person in sent)
    max_emu.assert_no_spec_errors()


async def test_a_max_webhook_burst_is_answered_at_once_and_queued(
    max_emu: MaxEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with held(monkeypatch, MaxTransport, lambda: start_max_webhook_app(max_emu, db_url)) as burst:
        sent = await max_burst(max_emu)
        # Every post answered 200 while the handlers are held: none waits for a slot (MAX would
        # count a slow answer as a failed delivery and post it again a minute later).
        await max_emu.wait_for(lambda: len(max_emu.webhook_answers) >= TOTAL, timeout=60)
        assert set(max_emu.webhook_answers) == {200}
        assert await kept(burst.app, Platform.MAX) == TOTAL
        assert burst.running.now == MAX_IN_FLIGHT, "the rest waits in the inbox, not as tasks"

        await burst.released(sent)
    max_emu.assert_no_spec_errors()


async def test_what_a_stop_left_waiting_is_fed_at_the_restart_through_the_same_bound(
    vk: VkEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(InboxFeed, "max_in_flight", 4)
    before = Running(monkeypatch, VkTransport)
    app = await start_vk_app(vk, db_url)
    try:
        people = [vk.user(630000 + n) for n in range(24)]
        for user in people:
            await user.start()
        await before.until(4)
        await until_kept(app, Platform.VK, len(people))
        [transport] = app.transports
        await transport.stop_listening()  # what waits for a slot stays in the inbox
        before.gate.set()
    finally:
        before.gate.set()
        await app.stop()
    assert before.calls == 4
    after = Running(monkeypatch, VkTransport)  # counts the restart's handlers (the old gate is open)
    after.gate.set()
    app = await start_vk_app(vk, db_url)
    try:
        await vk.wait_for(lambda: all(vk.sent_to(user.user_id) for user in people), timeout=60)
        await until_kept(app, Platform.VK, 0)
    finally:
        await app.stop()
    assert after.calls == len(people) - 4, "the rest, each once"
    assert after.peak == 4, "the restart's pending updates are handled within the bound too"
    answers = {len(vk.sent_to(user.user_id)) for user in people}
    assert len(answers) == 1, "each person answered once: the same screens for every one"
