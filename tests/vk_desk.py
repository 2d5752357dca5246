"""Helpers for VK conversations as coordinators' chats: cards, buttons and members' messages."""

from __future__ import annotations

from bot.app import Application
from bot.sandbox.vk.emulator import VkChat, VkEmulator, VkMessage, VkUser
from tests.e2e import HandledUpdates, settled
from tests.vk_e2e import VkParent


def vk_cards(vk: VkEmulator, peer_id: int) -> list[VkMessage]:
    """The bot's cards in a conversation: messages with a card's callback buttons."""
    return [
        m for m in vk.sent_to(peer_id) if any(":claim" in str(b.get("payload")) for b in m.buttons())
    ] or [m for m in vk.sent_to(peer_id) if "#" in m.text and m.buttons()]


def payload_of(message: VkMessage, part: str) -> str:
    for button in message.buttons():
        if part in str(button.get("payload")):
            return str(button["payload"])
    raise AssertionError(f"no button {part!r} on #{message.cmid}: {message.buttons()}")


async def tap(vk: VkEmulator, member: VkUser, message: VkMessage, part: str) -> dict[str, str]:
    """Press a card's button; return VK's answer to the press (the snackbar)."""
    before = len(vk.answers())
    await member.press_payload(payload_of(message, part), cmid=message.cmid)
    await vk.wait_for(lambda: len(vk.answers()) > before)
    return vk.answers()[before]


async def says(vk: VkEmulator, member: VkUser, text: str, *, reply_to: int | None = None) -> list[VkMessage]:
    """A member writes in the conversation; return the bot's answers there (waits for at least one)."""
    peer = member.peer_id
    before = len(vk.sent_to(peer))
    await member.write(text, reply_to=reply_to)
    await vk.wait_for(lambda: len(vk.sent_to(peer)) > before)
    return vk.sent_to(peer)[before:]


async def vk_request(
    vk: VkEmulator, app: Application, chat: VkChat, user_id: int, story: str
) -> tuple[VkParent, VkMessage]:
    """A VK family sends a legal request (benefits, Moscow, to be answered in the chat); returns the
    family and the request's card in ``chat``, the only one there."""
    family = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(user_id))
    await family.start()
    await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await family.say(story)
    await family.walk("done", "chat", "send")
    await vk.wait_for(lambda: bool(vk_cards(vk, chat.peer_id)))
    await settled(app)
    [card] = vk_cards(vk, chat.peer_id)
    return family, card
