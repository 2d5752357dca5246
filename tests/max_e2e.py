"""End-to-end harness for MAX: the real Application and our MAX client against the MAX emulator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.app import Application
from bot.config import Settings
from bot.max.client import MaxTiming
from bot.max.transport import update_number
from bot.sandbox.telegram.emulator import TelegramEmulator
from tests.e2e import FAST_DELIVERY, TOKEN, HandledUpdates
from tests.max_emulator import MaxEmulator, MaxMessage, MaxUser

FAST_MAX = MaxTiming(backoff=0.05, rate_wait=0.05, longpoll_backoff=0.1)
MAX_GROUP = -7000000001


async def start_max_app(
    emu: MaxEmulator, database_url: str, *, telegram: TelegramEmulator | None = None, **overrides: Any
) -> Application:
    """MAX alone, or MAX and Telegram in one process when ``telegram`` is given."""
    if telegram is not None:
        overrides = {"bot_token": TOKEN, "telegram_api_url": telegram.base_url, **overrides}
    overrides = {"max_token": emu.token, **overrides}
    settings = Settings(
        max_api_url=emu.url,
        database_url=database_url,
        consent_version="test-1",
        **{"web_port": 0, **overrides},
    )
    app = Application(settings, polling_timeout=1, delivery=FAST_DELIVERY, max_timing=FAST_MAX)
    await app.start()
    return app


@dataclass
class MaxParent:
    """A parent in a private dialog with the bot, waiting for the bot after each action."""

    emu: MaxEmulator
    handled: HandledUpdates
    user: MaxUser
    seen: int = field(default=0)

    def messages(self) -> list[MaxMessage]:
        return [m for m in self.emu.in_dialog(self.user.user_id) if m.from_bot]

    async def _after(self, update_id: int) -> list[MaxMessage]:
        await self.handled.wait(update_id)
        await asyncio.sleep(0)
        messages = self.messages()
        new = messages[self.seen :]
        self.seen = len(messages)
        return new

    async def say(self, text: str) -> list[MaxMessage]:
        return await self._after(update_number(await self.user.write(text), 0))

    async def send(self, *attachments: dict[str, Any], text: str = "") -> list[MaxMessage]:
        mid = await self.user.write(text, attachments=list(attachments))
        return await self._after(update_number(mid, max(1, len(attachments)) - 1))

    async def start(self, payload: str | None = None) -> list[MaxMessage]:
        timestamp = await self.user.start(payload)
        return await self._after(update_number("started", self.user.user_id, timestamp))

    def find(self, value: str) -> tuple[MaxMessage, dict[str, Any]]:
        """The newest button carrying ``value`` (payload values are a schema; labels are translated)."""
        for message in reversed(self.messages()):
            if message.deleted:
                continue
            for button in message.buttons():
                if button.get("type") == "callback" and str(button["payload"]).endswith(f":{value}"):
                    return message, button
        raise AssertionError(f"no button {value!r}:\n" + self.emu.dump())

    async def press(self, message: MaxMessage, payload: str) -> list[MaxMessage]:
        return await self._after(update_number("callback", await self.user.press(message, payload)))

    async def tap_value(self, value: str) -> list[MaxMessage]:
        message, button = self.find(value)
        return await self.press(message, str(button["payload"]))

    async def walk(self, *values: str) -> list[MaxMessage]:
        replies: list[MaxMessage] = []
        for value in values:
            replies = await self.tap_value(value)
        return replies

    def last_with_buttons(self) -> MaxMessage:
        for message in reversed(self.messages()):
            if message.buttons() and not message.deleted:
                return message
        raise AssertionError("no message with buttons:\n" + self.emu.dump())

    @staticmethod
    def texts(messages: list[MaxMessage]) -> str:
        return "\n".join(m.text for m in messages)
