"""/bind, /bindings and /unbind in a VK conversation; the bot says when it is not an admin there."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from tests.e2e import GROUP, make_tickets, settled
from tests.vk_desk import says, tap
from tests.vk_e2e import start_vk_app

ADMIN, COORDINATOR = 9400, 9401


@pytest.fixture
async def desk(vk: VkEmulator, emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_vk_app(
        vk, db_url, telegram=emulator, coordinator_chat=f"tg:{GROUP}", admin_ids=f"vk:{ADMIN}"
    )
    yield app
    await app.stop()


async def test_bind_a_vk_conversation(vk: VkEmulator, desk: Application) -> None:
    chat = vk.add_chat("Юристы")
    admin = vk.member(chat, ADMIN, first_name="Ольга")
    coordinator = vk.member(chat, COORDINATOR)

    # A coordinator may look, not change.
    [refused] = await says(vk, coordinator, "/bind")
    assert "Только администраторы" in refused.text or "администратор" in refused.text

    [menu] = await says(vk, admin, "/bind")
    assert menu.keyboard is not None and menu.keyboard["inline"]
    await tap(vk, admin, menu, "legal")
    await vk.wait_for(lambda: menu.edited)
    await tap(vk, admin, menu, ":r.legal.any")
    await vk.wait_for(lambda: "✅" in menu.text)
    assert "⚠️" not in menu.text, "the bot is an admin of this conversation"

    [listed] = await says(vk, coordinator, "/bindings")
    assert f"vk:{chat.peer_id}" in listed.text and "юрид" in listed.text.lower()
    assert "⚠️" not in listed.text

    # /unbind: the admin removes it with its button.
    [removable] = await says(vk, admin, "/unbind")
    await tap(vk, admin, removable, ":u.")
    await vk.wait_for(lambda: removable.edited and "не приходят" in removable.text)
    vk.assert_no_spec_errors()


async def test_bindings_says_when_the_bot_is_not_an_admin(vk: VkEmulator, desk: Application) -> None:
    chat = vk.add_chat("Без прав", admin=False)
    coordinator = vk.member(chat, COORDINATOR)
    # Without admin rights the bot gets only messages that mention it: a bare command never arrives.
    await coordinator.write("/bindings")
    [listed] = await says(vk, coordinator, f"{vk.mention()} /bindings")
    assert f"vk:{chat.peer_id}" in listed.text
    assert "не администратор" in listed.text or "⚠️" in listed.text
    assert len(vk.sent_to(chat.peer_id)) == 1
    vk.assert_no_spec_errors()


async def test_a_burst_of_cards_keeps_to_vks_rate_limit(vk: VkEmulator, db_url: str) -> None:
    """VK allows a community token 20 calls a second: a burst of 30 cards never goes faster."""
    chat = vk.add_chat("Поток")
    app = await start_vk_app(vk, db_url, coordinator_chat=f"vk:{chat.peer_id}")
    try:
        await make_tickets(app, 30)
        await vk.wait_for(lambda: len(vk.sent_to(chat.peer_id)) >= 30, timeout=20)
        await settled(app, timeout=20)
    finally:
        await app.stop()
    times = sorted(c.at for c in vk.calls)
    busiest = max(bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    assert busiest <= 20, f"{busiest} VK calls within one second"
    assert not any(c.error for c in vk.calls)
    vk.assert_no_spec_errors()
