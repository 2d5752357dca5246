"""A local emulator of the MAX Bot API: /me, /updates (long polling), /messages, /answers, chat members.

Every request is checked against the spec (``tests/spec_max.py``): method, path, query parameters and
body fields; a wrong token gets 401. Faults can be injected per operation: 429 with Retry-After, 5xx,
and people who blocked the bot (403 ``chat.denied``). Tests act as people through ``MaxUser``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.spec_max import check_request, spec_available

BOT_ID = 900
TOKEN = "max-test-token"


@dataclass
class MaxMessage:
    mid: str
    chat: tuple[str, int]  # ("user", user id) for a dialog, ("chat", chat id) for a group
    sender: int
    text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_to: str | None = None
    deleted: bool = False
    edits: int = 0

    @property
    def from_bot(self) -> bool:
        return self.sender == BOT_ID

    def buttons(self) -> list[dict[str, Any]]:
        return [
            button
            for a in self.attachments
            if a.get("type") == "inline_keyboard"
            for row in a["payload"]["buttons"]
            for button in row
        ]

    def files(self) -> list[dict[str, Any]]:
        return [a for a in self.attachments if a.get("type") != "inline_keyboard"]


@dataclass
class _Fault:
    method: str
    path: str
    status: int
    times: int
    retry_after: int | None = None


class MaxEmulator:
    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.spec_checked = spec_available()
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.spec_errors: list[str] = []
        self.messages: dict[str, MaxMessage] = {}
        self.answers: list[tuple[str, Any]] = []
        self.blocked: set[int] = set()
        self.names: dict[int, str] = {}
        self._updates: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def assert_no_spec_errors(self) -> None:
        assert not self.spec_errors, "\n".join(self.spec_errors)

    def fail(
        self, method: str, path: str, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        self._faults.append(_Fault(method, path, status, times, retry_after))

    # ---- what tests do as people ----

    def user(self, user_id: int, *, locale: str = "ru-RU", name: str = "Мария") -> MaxUser:
        self.names[user_id] = name
        return MaxUser(self, user_id, locale)

    def new_mid(self) -> str:
        return f"mid.{next(self._ids):032x}"

    async def push(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self._updates.append({"timestamp": int(time.time() * 1000), **update})
            self._changed.notify_all()

    async def repeat(self, mid: str) -> None:
        """MAX sends an update again (a lost acknowledgement): the same message, a second time."""
        [update] = [u for u in self._updates if (u.get("message") or {}).get("body", {}).get("mid") == mid]
        await self.push(update)

    def message_object(self, message: MaxMessage) -> dict[str, Any]:
        kind, ident = message.chat
        recipient = (
            {"chat_id": ident + 10**9, "chat_type": "dialog", "user_id": ident}
            if kind == "user"
            else {"chat_id": ident, "chat_type": "chat", "user_id": None}
        )
        obj: dict[str, Any] = {
            "sender": self._user(message.sender),
            "recipient": recipient,
            "timestamp": int(time.time() * 1000),
            "body": {"mid": message.mid, "seq": 1, "text": message.text, "attachments": message.attachments},
        }
        if message.reply_to is not None:
            linked = self.messages[message.reply_to]
            obj["link"] = {
                "type": "reply",
                "sender": self._user(linked.sender),
                "message": {"mid": linked.mid, "seq": 1, "text": linked.text},
            }
        return obj

    def _user(self, user_id: int) -> dict[str, Any]:
        name = "Бот" if user_id == BOT_ID else self.names.get(user_id, "Человек")
        return {"user_id": user_id, "first_name": name, "is_bot": user_id == BOT_ID, "name": name}

    def in_dialog(self, user_id: int) -> list[MaxMessage]:
        return [m for m in self.messages.values() if m.chat == ("user", user_id)]

    def in_chat(self, chat_id: int) -> list[MaxMessage]:
        return [m for m in self.messages.values() if m.chat == ("chat", chat_id)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s\n{self.dump()}")
            await asyncio.sleep(0.02)

    def dump(self) -> str:
        return "\n".join(
            f"{m.chat} {'bot' if m.from_bot else m.sender}{' (deleted)' if m.deleted else ''}: {m.text[:80]!r}"
            for m in list(self.messages.values())[-15:]
        )

    # ---- the API ----

    async def _handle(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        body = json.loads(await request.text()) if request.can_read_body else None
        self.calls.append((request.method, request.path, query, body))
        if self.spec_checked:
            self.spec_errors += check_request(request.method, request.path, query, body)
        if request.headers.get("Authorization") != self.token:
            return _error(401, "verify.token", "Invalid access_token")
        for fault in self._faults:
            if fault.times > 0 and fault.method == request.method and fault.path == request.path:
                fault.times -= 1
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
                return _error(
                    fault.status, "too.many.requests" if fault.status == 429 else "internal", "fault", headers
                )
        route = (request.method, request.path)
        if route == ("GET", "/me"):
            return web.json_response(
                {**self._user(BOT_ID), "username": "family_bot", "last_activity_time": 0}
            )
        if route == ("GET", "/updates"):
            return await self._get_updates(query)
        if route == ("POST", "/messages"):
            return self._send(query, body or {})
        if route == ("PUT", "/messages"):
            return self._edit(query["message_id"], body or {})
        if route == ("DELETE", "/messages"):
            return self._delete(query["message_id"])
        if route == ("POST", "/answers"):
            self.answers.append((query["callback_id"], body))
            return web.json_response({"success": True})
        if request.method == "GET" and request.path.startswith("/messages/"):
            message = self.messages.get(request.path.removeprefix("/messages/"))
            if message is None or message.deleted:
                return _error(404, "not.found", "message not found")
            return web.json_response(self.message_object(message))
        if request.method == "GET" and request.path.endswith("/members/me"):
            return web.json_response({**self._user(BOT_ID), "is_admin": True, "is_owner": False})
        return _error(404, "not.found", f"{request.method} {request.path} is not emulated")

    async def _get_updates(self, query: dict[str, str]) -> web.Response:
        start = int(query.get("marker", 0))
        timeout = float(query.get("timeout", 30))
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self._updates) > start), timeout)
            batch = self._updates[start:]
        return web.json_response({"updates": batch, "marker": start + len(batch)})

    def _send(self, query: dict[str, str], body: dict[str, Any]) -> web.Response:
        if "user_id" in query:
            chat = ("user", int(query["user_id"]))
            if chat[1] in self.blocked:
                return _error(403, "chat.denied", "the user blocked the bot")
        else:
            chat = ("chat", int(query["chat_id"]))
        link = body.get("link")
        if link and (link["mid"] not in self.messages or self.messages[link["mid"]].deleted):
            return _error(400, "message.not.found", "the message replied to is gone")
        attachments = [_stored(a) for a in body.get("attachments") or []]
        message = MaxMessage(
            self.new_mid(), chat, BOT_ID, body.get("text") or "", attachments, link and link["mid"]
        )
        self.messages[message.mid] = message
        return web.json_response({"message": self.message_object(message)})

    def _edit(self, mid: str, body: dict[str, Any]) -> web.Response:
        message = self.messages.get(mid)
        if message is None or message.deleted or not message.from_bot:
            return _error(404, "not.found", "message not found")
        message.text = body.get("text") or ""
        if body.get("attachments") is not None:
            message.attachments = [_stored(a) for a in body["attachments"]]
        message.edits += 1
        return web.json_response({"success": True})

    def _delete(self, mid: str) -> web.Response:
        message = self.messages.get(mid)
        if message is None or message.deleted:
            return _error(404, "not.found", "message not found")
        if not message.from_bot and message.chat[0] == "user":
            # In a dialog the bot may delete only its own messages.
            return web.json_response({"success": False, "message": "not allowed"})
        message.deleted = True
        return web.json_response({"success": True})


def _stored(request: dict[str, Any]) -> dict[str, Any]:
    """An attachment as MAX shows it in a message: a file sent by token keeps its token and gets a url."""
    if request.get("type") in {"image", "file", "audio", "video"}:
        payload = dict(request.get("payload") or {})
        payload.setdefault("token", f"tok-{payload.get('url', 'x')}")
        payload.setdefault("url", f"https://files.max.test/{payload['token']}")
        return {"type": request["type"], "payload": payload}
    return request


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status, headers=headers)


class MaxUser:
    """A person on MAX: writes, presses, shares a contact, starts and stops the bot."""

    def __init__(self, emulator: MaxEmulator, user_id: int, locale: str) -> None:
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
