"""Crashes at the moments that matter, through the real aiogram stack and the Bot API emulator."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from bot.telegram.polling import InboxPolling
from handlers.conversation import ConversationService
from handlers.inbox import Inbox, InboxFeed
from storage.models import Outbox, utcnow
from storage.vocabulary import OutboxKind, Platform
from tests.e2e import GROUP, cards, make_tickets, start_app
from tests.max_e2e import start_max_app
from tests.vk_e2e import start_vk_app


async def inbox_size(app: Application) -> int:
    assert app.db is not None
    async with app.db.uow() as uow:
        return len(await uow.inbox.pending(Platform.TELEGRAM))


async def until(check, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_updates_kept_but_not_handled_are_handled_after_the_restart(
    emulator: TelegramEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process dies right after the inbox commit (and so after Telegram was told): nothing handled.
    monkeypatch.setattr(InboxPolling, "_feed", lambda self, update: None)
    app = await start_app(emulator, db_url)
    emulator.message(6001, "/start")
    emulator.message(6002, "срочно")
    await until(lambda: _at_least(app, 2))
    await app.stop()
    assert emulator.sent_to(6001) == [] and emulator.sent_to(6002) == []

    monkeypatch.undo()
    app = await start_app(emulator, db_url)
    try:
        await emulator.wait_sent(6001, 1, timeout=10)
        await emulator.wait_sent(6002, 1, timeout=10)
        assert "112" in (emulator.sent_to(6002)[0].text or ""), "the SOS answered after the restart"
        await asyncio.sleep(0.3)
        assert len(emulator.sent_to(6001)) == 1, "answered once"
        await until(lambda: _empty(app))  # handled, then forgotten
    finally:
        await app.stop()


async def _at_least(app: Application, n: int) -> bool:
    return await inbox_size(app) >= n


async def _empty(app: Application) -> bool:
    return await inbox_size(app) == 0


async def test_updates_the_inbox_could_not_keep_are_not_confirmed(
    emulator: TelegramEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = [2]
    original = Inbox.accept

    async def flaky(self, platform, updates, **kwargs):
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("database is down")
        await original(self, platform, updates, **kwargs)

    monkeypatch.setattr(Inbox, "accept", flaky)
    monkeypatch.setattr(InboxPolling, "retry_delay", 0.01)
    app = await start_app(emulator, db_url)
    try:
        emulator.message(6003, "/start")
        await emulator.wait_sent(6003, 1, timeout=10)
        await asyncio.sleep(0.3)
        assert failures == [0] and len(emulator.sent_to(6003)) == 1
    finally:
        await app.stop()


async def test_a_card_interrupted_by_a_crash_goes_out_at_once_after_the_restart(
    emulator: TelegramEmulator, db_url: str
) -> None:
    app = await start_app(emulator, db_url, instance_id="bot-a")  # no coordinators' chat yet
    [ticket_id] = await make_tickets(app, 1, urgent_every=1)
    assert app.db is not None
    async with app.db.uow() as uow:
        # As a crash leaves it: the row taken by this instance for two minutes, the card not recorded.
        [row] = (await uow.session.scalars(select(Outbox).where(Outbox.ticket_id == ticket_id))).all()
        assert row.kind == OutboxKind.TICKET_CREATED
        now = utcnow()
        assert await uow.outbox.lease(row.id, now, now + timedelta(seconds=120), "bot-a")
    await app.stop()

    app = await start_app(emulator, db_url, instance_id="bot-a", coordinator_chat=f"tg:{GROUP}")
    try:
        await emulator.wait_for(lambda: len(cards(emulator)) == 1, timeout=5)
    finally:
        await app.stop()


async def test_vk_events_kept_but_not_handled_are_handled_after_the_restart(
    vk: VkEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VK: the batch and the long poll's ts are kept together; what was not handled comes back."""
    monkeypatch.setattr(InboxFeed, "spawn", lambda self, key, raw: None)
    app = await start_vk_app(vk, db_url)
    await vk.user(6101).start()
    await until(lambda: _at_least_on(app, Platform.VK, 1))
    await app.stop()
    assert vk.sent_to(6101) == []

    monkeypatch.undo()
    app = await start_vk_app(vk, db_url)
    try:
        await vk.wait_sent(6101, 1, timeout=10)
        await asyncio.sleep(0.3)
        assert len(vk.sent_to(6101)) == 1, "answered once: VK does not give the event again"
    finally:
        await app.stop()


async def _at_least_on(app: Application, platform: Platform, n: int) -> bool:
    assert app.db is not None
    async with app.db.uow() as uow:
        return len(await uow.inbox.pending(platform)) >= n


async def test_max_updates_kept_but_not_handled_are_handled_after_the_restart(
    max_emu: MaxEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MAX: the batch and the marker are kept together; what was not handled comes back."""
    monkeypatch.setattr(InboxFeed, "spawn", lambda self, key, raw: None)
    app = await start_max_app(max_emu, db_url)
    await max_emu.user(6201).write("/start")
    await until(lambda: _at_least_on(app, Platform.MAX, 1))
    await app.stop()
    assert not [m for m in max_emu.in_dialog(6201) if m.from_bot]

    monkeypatch.undo()
    app = await start_max_app(max_emu, db_url)
    try:
        await max_emu.wait_for(lambda: any(m.from_bot for m in max_emu.in_dialog(6201)), timeout=10)
        await asyncio.sleep(0.3)
        assert len([m for m in max_emu.in_dialog(6201) if m.from_bot]) == 1, "answered once"
    finally:
        await app.stop()


async def test_a_vk_answer_committed_but_not_sent_is_sent_after_the_restart(
    vk: VkEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VK names the parts of one event apart from the event itself: the answer is still kept with
    the event in the inbox, so a crash between the commit and the send loses no answer."""

    async def dies(self: ConversationService, *args: object, **kwargs: object) -> bool:
        raise RuntimeError("the process dies between the commit and the send")

    monkeypatch.setattr(ConversationService, "_after_commit", dies)
    app = await start_vk_app(vk, db_url)
    await vk.user(6102).start()
    await until(lambda: _at_least_on(app, Platform.VK, 1))
    await asyncio.sleep(0.3)
    await app.stop()
    assert vk.sent_to(6102) == [], "nothing was sent before the crash"

    monkeypatch.undo()
    app = await start_vk_app(vk, db_url)
    try:
        await vk.wait_sent(6102, 1, timeout=10)
        await asyncio.sleep(0.3)
        assert len(vk.sent_to(6102)) == 1, "the kept answer, once"
        assert app.db is not None
        async with app.db.uow() as uow:
            assert await uow.dialogs.load("vk:6102") is not None, "the turn itself committed once"
    finally:
        await app.stop()
