"""Blocking and unblocking from a card in a VK conversation (callback buttons, snackbar answers)."""

from __future__ import annotations

import json

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkChat, VkEmulator
from tests.desk_support import actions, blocked_by, request, tickets_of
from tests.e2e import HandledUpdates, Parent, settled
from tests.vk_desk import tap, vk_cards

ANNA = 9401


def snackbar(answer: dict[str, str]) -> str:
    return str(json.loads(answer["event_data"])["text"])


async def test_block_and_unblock_from_a_card_in_a_vk_conversation(
    vk: VkEmulator, emulator: TelegramEmulator, vk_chat: VkChat, vk_desk: Application
) -> None:
    anna = vk.member(vk_chat, ANNA, first_name="Анна")
    family = Parent(emulator=emulator, handled=HandledUpdates(vk_desk), user_id=5401)
    await family.say("/start")
    await family.tap_value("yes")
    await request(family)
    await vk.wait_for(lambda: len(vk_cards(vk, vk_chat.peer_id)) == 1)
    await settled(vk_desk)
    [card] = vk_cards(vk, vk_chat.peer_id)

    assert "Заблокировать этого человека?" in snackbar(await tap(vk, anna, card, ":block."))
    await vk.wait_for(lambda: any(":block-yes" in str(b.get("payload")) for b in card.buttons()))
    assert await blocked_by(vk_desk, "tg:5401") is None
    assert "/unblock" in snackbar(await tap(vk, anna, card, ":block-yes"))
    await vk.wait_for(lambda: any(":unblock" in str(b.get("payload")) for b in card.buttons()))
    assert "заблокирован" in card.text
    assert await blocked_by(vk_desk, "tg:5401") == f"vk:{ANNA}"

    # A new request of the blocked family never reaches the conversation.
    said = await request(family, "other", "Ещё раз")
    assert "сохранено" in said and "112" in said
    await settled(vk_desk)
    assert len(vk_cards(vk, vk_chat.peer_id)) == 1
    assert sorted(t.status for t in await tickets_of(vk_desk, "tg:5401")) == ["held", "new"]

    assert "Разблокирован" in snackbar(await tap(vk, anna, card, ":unblock"))
    await vk.wait_for(lambda: any(":block." in str(b.get("payload")) for b in card.buttons()))
    assert await blocked_by(vk_desk, "tg:5401") is None
    assert [a for a in await actions(vk_desk) if "block" in a] == ["block", "held_blocked", "unblock"]
