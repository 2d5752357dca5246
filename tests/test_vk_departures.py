"""A coordinator removed from a VK conversation (VK's ``chat_kick_user`` service message), end to end
through the real vk-api client: recorded, and the day-long nudge goes to the conversation without them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkChat, VkEmulator
from storage.models import utcnow
from tests.departure_support import active, audited
from tests.e2e import HandledUpdates, settled
from tests.vk_desk import tap, vk_cards
from tests.vk_e2e import VkParent, start_vk_app

ANNA, BORIS = 9401, 9402


@pytest.fixture
def chat(vk: VkEmulator) -> VkChat:
    return vk.add_chat("Координаторы")


@pytest.fixture
async def desk(
    vk: VkEmulator, emulator: TelegramEmulator, chat: VkChat, db_url: str
) -> AsyncIterator[Application]:
    app = await start_vk_app(vk, db_url, telegram=emulator, coordinator_chat=f"vk:{chat.peer_id}")
    yield app
    await app.stop()


async def test_a_coordinator_kicked_from_the_vk_conversation_is_not_nudged(
    vk: VkEmulator, chat: VkChat, desk: Application
) -> None:
    anna = vk.member(chat, ANNA, first_name="Анна")
    vk.member(chat, BORIS, first_name="Борис")
    family = VkParent(vk=vk, handled=HandledUpdates(desk), user=vk.user(7401))
    await family.start()
    await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await family.say("Нужна помощь с документами")
    await family.walk("done", "chat", "send")
    await vk.wait_for(lambda: bool(vk_cards(vk, chat.peer_id)))
    await settled(desk)
    [card] = vk_cards(vk, chat.peer_id)
    await tap(vk, anna, card, ":claim")
    await family.say("Вы здесь?")
    await settled(desk)

    vk.kick(chat, ANNA, by=BORIS)
    await audited(desk, "member_left")
    conversation = f"vk:{chat.peer_id}"
    assert not await active(desk, conversation, f"vk:{ANNA}")
    assert await active(desk, conversation, f"vk:{BORIS}")
    assert desk.followups is not None
    assert await desk.followups.run_once(utcnow() + timedelta(hours=25)) == 1
    [nudge] = [m.text for m in vk.sent_to(chat.peer_id) if "ждёт ответа" in (m.text or "")]
    assert "Анна" not in nudge and "больше нет в этом чате" in nudge, nudge

    vk.invite(chat, ANNA, by=BORIS)  # back in the conversation: active again
    await audited(desk, "member_returned")
    assert await active(desk, conversation, f"vk:{ANNA}")
    vk.assert_no_spec_errors()
