"""A coordinator removed from a VK conversation (VK's ``chat_kick_user`` service message), end to end
through the real vk-api client: recorded, and the day-long nudge goes to the conversation without them."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Application
from bot.sandbox.vk.emulator import VkChat, VkEmulator
from storage.models import utcnow
from tests.departure_support import active, audited
from tests.e2e import settled
from tests.vk_desk import tap, vk_request

ANNA, BORIS = 9401, 9402


async def test_a_coordinator_kicked_from_the_vk_conversation_is_not_nudged(
    vk: VkEmulator, vk_chat: VkChat, vk_desk: Application
) -> None:
    anna = vk.member(vk_chat, ANNA, first_name="Анна")
    vk.member(vk_chat, BORIS, first_name="Борис")
    family, card = await vk_request(vk, vk_desk, vk_chat, 7401, "Нужна помощь с документами")
    await tap(vk, anna, card, ":claim")
    await family.say("Вы здесь?")
    await settled(vk_desk)

    vk.kick(vk_chat, ANNA, by=BORIS)
    await audited(vk_desk, "member_left")
    conversation = f"vk:{vk_chat.peer_id}"
    assert not await active(vk_desk, conversation, f"vk:{ANNA}")
    assert await active(vk_desk, conversation, f"vk:{BORIS}")
    assert vk_desk.followups is not None
    assert await vk_desk.followups.run_once(utcnow() + timedelta(hours=25)) == 1
    [nudge] = [m.text for m in vk.sent_to(vk_chat.peer_id) if "ждёт ответа" in (m.text or "")]
    assert "Анна" not in nudge and "больше нет в этом чате" in nudge, nudge

    vk.invite(vk_chat, ANNA, by=BORIS)  # back in the conversation: active again
    await audited(vk_desk, "member_returned")
    assert await active(vk_desk, conversation, f"vk:{ANNA}")
    vk.assert_no_spec_errors()
