"""End-to-end harness for MAX: the real Application and our MAX client against the MAX emulator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.app import Application
from bot.config import Settings
from bot.max.client import MaxTiming
from bot.max.transport import update_number
from bot.sandbox.max.emulator import MaxEmulator, MaxMessage, MaxUser
from bot.sandbox.telegram.emulator import TelegramEmulator
from tests.e2e import FAST_DELIVERY, TOKEN, HandledUpdates

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

    def _unanswered_opt_in(self, value: str) -> bool:
        """The newest screen is the announcements question, and ``value`` is not on it."""
        latest = next((m for m in reversed(self.messages()) if m.buttons() and not m.deleted), None)
        if latest is None:
            return False
        values = [str(b.get("payload", "")) for b in latest.buttons()]
        return any(v.endswith(":ann_no") for v in values) and not any(v.endswith(f":{value}") for v in values)

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
        if value != "ann_no" and self._unanswered_opt_in(value):
            # A journey going on past the announcements question (its own step after consent)
            # answers it "no, thanks" first, as a family would.
            await self.tap_value("ann_no")
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


WEBHOOK_SECRET = "max-webhook-secret-0123456789"
PUBLIC = "https://bot.example.org"


async def start_max_webhook_app(emu: MaxEmulator, database_url: str, **overrides: Any) -> Application:
    """Webhook mode: the bot subscribes at the public URL; the emulator posts to the bot's own server
    (``webhook_targets`` stands in for the proxy in front)."""
    app = await start_max_app(
        emu,
        database_url,
        webhook_url=f"{PUBLIC}/tg/hook",
        webhook_secret=WEBHOOK_SECRET,
        **overrides,
    )
    assert app.web is not None
    emu.webhook_targets = [f"http://127.0.0.1:{app.web.port}/max"]
    await emu.wait_for(lambda: f"{PUBLIC}/max" in emu.subscriptions)
    return app


def max_cards(emu: MaxEmulator, chat: int = MAX_GROUP) -> list[MaxMessage]:
    """The request cards in a MAX coordinators' chat (the messages with a "take it" button)."""
    return [m for m in emu.in_chat(chat) if any("claim" in str(b.get("payload")) for b in m.buttons())]


def max_button(message: MaxMessage, part: str) -> str:
    return next(str(b["payload"]) for b in message.buttons() if part in str(b.get("payload")))
