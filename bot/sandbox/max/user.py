"""A person on MAX, as the tests and the sandbox's page act: writes, presses, shares a contact,
attaches files, starts and stops the bot."""

from __future__ import annotations

import itertools
import time
from typing import Any, Protocol

from bot.sandbox.max.objects import MaxMessage


class Server(Protocol):
    """What a person needs of the emulator (``emulator.MaxEmulator``; named so, the modules stay acyclic)."""

    messages: dict[str, MaxMessage]
    answers: list[tuple[str, Any]]
    blocked: set[int]

    def new_mid(self) -> str: ...
    async def push(self, update: dict[str, Any]) -> None: ...
    def message_object(self, message: MaxMessage) -> dict[str, Any]: ...
    def _user(self, user_id: int) -> dict[str, Any]: ...
    def serve(self, name: str, data: bytes) -> str: ...


_FILES = itertools.count(1)


class MaxUser:
    """A person on MAX: writes, presses, shares a contact, starts and stops the bot."""

    def __init__(self, emulator: Server, user_id: int, locale: str) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.locale = locale

    async def write(
        self,
        text: str = "",
        *,
        attachments: list[dict[str, Any]] | None = None,
        chat_id: int | None = None,
        reply_to: str | None = None,
    ) -> str:
        emu = self.emulator
        chat = ("user", self.user_id) if chat_id is None else ("chat", chat_id)
        message = MaxMessage(emu.new_mid(), chat, self.user_id, text, list(attachments or []), reply_to)
        emu.messages[message.mid] = message
        update: dict[str, Any] = {"update_type": "message_created", "message": emu.message_object(message)}
        if chat_id is None:
            update["user_locale"] = self.locale
        await emu.push(update)
        return message.mid

    async def press(self, message: MaxMessage, payload: str) -> str:
        callback_id = f"cb.{message.mid}.{len(self.emulator.answers)}.{time.monotonic_ns()}"
        await self.emulator.push(
            {
                "update_type": "message_callback",
                "callback": {
                    "timestamp": 0,
                    "callback_id": callback_id,
                    "payload": payload,
                    "user": self.emulator._user(self.user_id),
                },
                "message": self.emulator.message_object(message),
                "user_locale": self.locale,
            }
        )
        return callback_id

    async def start(self, payload: str | None = None) -> int:
        """The "Start" button; ``payload``: opened by a deep link ``max.ru/<bot>?start=<payload>``."""
        timestamp = time.monotonic_ns()
        update: dict[str, Any] = {
            "update_type": "bot_started",
            "timestamp": timestamp,
            "chat_id": self.user_id + 10**9,
            "user": self.emulator._user(self.user_id),
            "user_locale": self.locale,
        }
        if payload is not None:
            update["payload"] = payload
        await self.emulator.push(update)
        return timestamp

    async def stop(self) -> None:
        self.emulator.blocked.add(self.user_id)
        await self.emulator.push(
            {
                "update_type": "bot_stopped",
                "chat_id": self.user_id + 10**9,
                "user": self.emulator._user(self.user_id),
            }
        )

    def contact(self, phone: str = "+79161234567", *, owner: int | None = None) -> dict[str, Any]:
        vcf = f"BEGIN:VCARD\nVERSION:3.0\nTEL;TYPE=cell:{phone}\nEND:VCARD"
        return {
            "type": "contact",
            "payload": {"vcf_info": vcf, "max_info": self.emulator._user(owner or self.user_id)},
        }

    @staticmethod
    def photo(n: int = 1) -> dict[str, Any]:
        return {
            "type": "image",
            "payload": {"photo_id": n, "token": f"photo-{n}", "url": f"https://i.max.test/{n}.jpg"},
        }

    def file(self, name: str, data: bytes, *, kind: str = "file") -> dict[str, Any]:
        """A photo (``kind="image"``) or a document the person attaches, kept at a link of the emulator."""
        token = f"{self.user_id}-{next(_FILES)}-{name}"
        url = self.emulator.serve(token, data)
        if kind == "image":
            return {"type": "image", "payload": {"photo_id": 1, "token": token, "url": url}}
        return {"type": kind, "payload": {"token": token, "url": url}, "filename": name, "size": len(data)}

    @staticmethod
    def voice() -> dict[str, Any]:
        return {"type": "audio", "payload": {"url": "https://a.max.test/v.ogg", "token": "voice-1"}}

    @staticmethod
    def sticker() -> dict[str, Any]:
        return {
            "type": "sticker",
            "payload": {"url": "https://s.max.test/1.webp", "code": "s1"},
            "width": 1,
            "height": 1,
        }
