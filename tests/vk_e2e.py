"""End-to-end harness for VK: the real Application and vk-api client against the VK emulator."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from bot.app import Application
from bot.config import Settings
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator, VkMessage, VkUser
from bot.vk.options import VkTiming
from bot.vk.transport import event_number
from tests.e2e import FAST_DELIVERY, TOKEN, HandledUpdates

VK_TOKEN = "vk-test-token"
VK_GROUP = 77
FAST_VK = VkTiming(backoff=0.05, rate_wait=0.05, longpoll_backoff=0.1)


async def start_vk_app(
    vk: VkEmulator, database_url: str, *, telegram: TelegramEmulator | None = None, **overrides: Any
) -> Application:
    """VK alone, or VK and Telegram in one process when ``telegram`` is given."""
    if telegram is not None:
        overrides = {"bot_token": TOKEN, "telegram_api_url": telegram.base_url, **overrides}
    settings = Settings(
        vk_token=VK_TOKEN,
        vk_group_id=VK_GROUP,
        vk_api_url=vk.url,
        database_url=database_url,
        consent_version="test-1",
        **{"web_port": 0, **overrides},
    )
    app = Application(settings, polling_timeout=1, delivery=FAST_DELIVERY, vk_timing=FAST_VK)
    await app.start()
    return app


def payload_value(button: dict[str, Any]) -> str | None:
    raw = button.get("payload")
    if not raw:
        return None
    value = json.loads(raw)
    return value if isinstance(value, str) else None


@dataclass
class VkParent:
    """A parent in a private dialog with the community, waiting for the bot after each action."""

    vk: VkEmulator
    handled: HandledUpdates
    user: VkUser
    seen: int = field(default=0)

    @property
    def peer_id(self) -> int:
        return self.user.user_id

    def messages(self) -> list[VkMessage]:
        return self.vk.sent_to(self.peer_id)

    async def _after(self, event_id: str, parts: int = 1) -> list[VkMessage]:
        await self.handled.wait(event_number(event_id, parts - 1))
        await asyncio.sleep(0)
        messages = self.messages()
        new = messages[self.seen :]
        self.seen = len(messages)
        return new

    async def say(self, text: str) -> list[VkMessage]:
        return await self._after(await self.user.write(text))

    async def start(self, ref: str | None = None) -> list[VkMessage]:
        return await self._after(await self.user.start(ref))

    async def send(self, *attachments: dict[str, Any], text: str = "") -> list[VkMessage]:
        event_id = await self.user.write(text, attachments=list(attachments))
        return await self._after(event_id, parts=max(1, len(attachments)))

    async def sticker(self) -> list[VkMessage]:
        return await self._after(await self.user.sticker())

    def _unanswered_opt_in(self, value: str) -> bool:
        """The newest screen is the announcements question, and ``value`` is not on it."""
        latest = next((m for m in reversed(self.messages()) if m.buttons() and not m.deleted), None)
        if latest is None:
            return False
        values = [payload_value(b) or "" for b in latest.buttons()]
        return any(v.endswith(":ann_no") for v in values) and not any(v.endswith(f":{value}") for v in values)

    def find(self, value: str) -> tuple[VkMessage, dict[str, Any]]:
        """The newest button carrying ``value`` (payload values are a schema; labels are translated)."""
        for message in reversed(self.messages()):
            if message.deleted:
                continue
            for button in message.buttons():
                packed = payload_value(button)
                if packed is not None and packed.endswith(f":{value}"):
                    return message, button
        raise AssertionError(f"no button {value!r}:\n" + self.vk.dump())

    async def tap_value(self, value: str) -> list[VkMessage]:
        if value != "ann_no" and self._unanswered_opt_in(value):
            # A journey going on past the announcements question (its own step after consent)
            # answers it "no, thanks" first, as a family would.
            await self.tap_value("ann_no")
        message, button = self.find(value)
        if button["type"] == "callback":
            return await self.press_payload(str(button["payload"]), message.cmid)
        return await self._after(await self.user.press(button["label"], cmid=message.cmid))

    async def press_payload(self, payload: str, cmid: int) -> list[VkMessage]:
        answers = len(self.vk.answers())
        event_id = await self.user.press_payload(payload, cmid=cmid)
        new = await self._after(event_id)
        await self.vk.wait_for(lambda: len(self.vk.answers()) > answers)
        return new

    async def walk(self, *values: str) -> list[VkMessage]:
        replies: list[VkMessage] = []
        for value in values:
            replies = await self.tap_value(value)
        return replies

    def last_with_buttons(self) -> VkMessage:
        for message in reversed(self.messages()):
            if message.buttons() and not message.deleted:
                return message
        raise AssertionError("no message with buttons:\n" + self.vk.dump())

    @staticmethod
    def texts(messages: list[VkMessage]) -> str:
        return "\n".join(m.text for m in messages)
