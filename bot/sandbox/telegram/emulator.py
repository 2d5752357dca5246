"""A local Telegram Bot API server for end-to-end tests of the real aiogram Bot and Dispatcher.

Point aiogram at it with ``AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))``.
Every request is checked against the Bot API spec (``bot/sandbox/telegram/spec.py``); the emulator keeps
the chat history so tests can act as users (``message``, ``callback``) and observe what the bot sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.sandbox.limits import TELEGRAM_MESSAGES_PER_SECOND, SlidingWindow
from bot.sandbox.telegram import objects as tg
from bot.sandbox.telegram.forums import ForumMethods
from bot.sandbox.telegram.spec import UploadedFile, decode_params, spec_available, validate_request
from bot.sandbox.telegram.state import ApiError, Call, SentMessage

__all__ = ["ApiError", "Call", "SentMessage", "TelegramEmulator"]

# Methods that deliver something into a chat, so a user who blocked the bot makes them fail with 403.
_DELIVERING_PREFIXES = ("send", "copy", "forward", "edit")
_MESSAGE_PREFIXES = ("send", "copy", "forward")  # what the bot-wide message limit counts


@dataclass
class _Fault:
    method: str
    error_code: int | None
    description: str | None
    retry_after: int | None
    migrate_to_chat_id: int | None
    chat_id: int | None
    delay: float
    times: int


class TelegramEmulator(ForumMethods):
    """Bot API server plus a scriptable chat world; see the module docstring for the workflow.

    Public state worth asserting on: ``calls``, ``spec_errors``, ``spec_checked``, ``messages``
    (bot's messages per chat), ``user_messages``, ``deleted``, ``callback_answers``,
    ``my_commands``, ``blocked``, ``filtered_updates``, ``emulator_errors``.
    """

    def __init__(self, *, token_check: bool = True, enforce_limits: bool = False) -> None:
        super().__init__()
        # Limit mode (benchmarks): about 30 messages a second per bot, 429 with retry_after beyond it.
        self.limit = SlidingWindow(TELEGRAM_MESSAGES_PER_SECOND) if enforce_limits else None
        self.base_url = ""
        self.token_check = token_check
        self.refused_tokens: set[str] = set()  # well-formed tokens Telegram does not know (revoked)
        self.spec_checked = spec_available()
        self._faults: list[_Fault] = []
        self.emulator_errors: list[str] = []
        self._callback_ids = itertools.count(4_000_000_000_000_001)
        self._runner: web.AppRunner | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        """The Bot API routes, to serve on a port of their own (start) or under the sandbox's page."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    async def start(self) -> None:
        app = self.web_app()
        # Long polls and injected delays end on stop(); the short grace just covers in-flight replies.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._stopping.set()
        self._update_event.set()
        if self._webhook_task is not None:
            await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- HTTP -------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            raw = await self._read_params(request)
        except ValueError as exc:
            self.calls.append(call := Call(method, {}, time.time()))
            return self._reply(call, ApiError(400, f"Bad Request: can't parse request body: {exc}"))
        params = decode_params(method, raw)
        call = Call(method, params, time.time())
        self.calls.append(call)
        token = request.match_info["token"]
        if (self.token_check and not _plausible_token(token)) or token in self.refused_tokens:
            return self._reply(call, ApiError(401, "Unauthorized"))
        errors = validate_request(method, raw)
        if errors:
            self.spec_errors.extend(errors)
            return self._reply(call, ApiError(400, "Bad Request: " + "; ".join(errors)))
        try:
            self._enforce_limit(method)
            await self._inject_fault(method, params)
            if method.lower().startswith(_DELIVERING_PREFIXES) and self._target(params) in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if method.lower() == "getupdates":
                result = await self._api_getupdates(params, alive=lambda: _connected(request))
            else:
                handler = getattr(self, f"_api_{method.lower()}", None)
                result = True if handler is None else await handler(params)
        except ApiError as exc:
            return self._reply(call, exc)
        except (LookupError, TypeError, ValueError) as exc:
            # Malformed input the spec check let through (or no spec); answer like Telegram would
            # rather than with an aiohttp 500 page aiogram cannot decode, and keep it visible.
            self.emulator_errors.append(f"{method}: {exc!r}")
            return self._reply(call, ApiError(400, f"Bad Request: {exc}"))
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _reply(call: Call, exc: ApiError) -> web.Response:
        call.error = exc.description
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return web.json_response(body, status=exc.code)

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.body_exists:
            return params
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update({k: v for k, v in body.items() if v is not None})
            return params
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                params[key] = UploadedFile(key, value.filename, content, value.content_type)
            else:
                params[key] = value if isinstance(value, str) else value.decode()
        return params

    async def _handle_file(self, request: web.Request) -> web.Response:
        content = self.file_bytes(request.match_info["path"])
        if content is None:
            raise web.HTTPNotFound
        return web.Response(body=content, content_type="application/octet-stream")

    def _enforce_limit(self, method: str) -> None:
        if self.limit is None or not method.lower().startswith(_MESSAGE_PREFIXES):
            return
        wait = self.limit.admit()
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def _target(self, params: dict[str, Any]) -> int | None:
        try:
            return self._resolve_chat(params.get("chat_id"))
        except ApiError:
            return None

    # -- fault injection --------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        chat_id: int | None = None,
        migrate_to_chat_id: int | None = None,
        timeout: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally only to ``chat_id``) fail.

        ``timeout=True`` answers normally but only after ``delay`` seconds (default 30), so the
        client's own timeout fires; a ``delay`` without ``timeout`` just postpones the error.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(
            _Fault(
                method=method.lower(),
                error_code=None if timeout else error_code,
                description=description,
                retry_after=retry_after,
                migrate_to_chat_id=migrate_to_chat_id,
                chat_id=chat_id,
                delay=(delay or 30.0) if timeout else delay,
                times=times,
            )
        )

    async def _inject_fault(self, method: str, params: dict[str, Any]) -> None:
        for fault in self._faults:
            if fault.method != method.lower() or fault.times <= 0:
                continue
            if fault.chat_id is not None and self._target(params) != fault.chat_id:
                continue
            fault.times -= 1
            if fault.delay:
                await self._sleep(fault.delay)
            if fault.error_code is not None:
                raise _fault_error(fault)
            return

    def block(self, user_id: int) -> None:
        """The user blocked the bot: anything delivered to their private chat now fails with 403."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    # -- acting as users --------------------------------------------------------------------------

    def message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        language_code: str = "ru",
        first_name: str = "Test",
        photo: bool = False,
        document: bool = False,
        voice: bool = False,
        video: bool = False,
        audio: bool = False,
        sticker: bool = False,
        contact_phone: str | None = None,
        location: tuple[float, float] | None = None,
        caption: str | None = None,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        media_group_id: str | None = None,
    ) -> int:
        """Push a user's message as an update; returns the update_id."""
        sender = self._remember_user(user_id, first_name, language_code)
        chat_id = user_id if chat_id is None else chat_id
        if chat_type == "private" and chat_id < 0:
            chat_type = tg.chat_type_for(chat_id)
        chat = self.chats.setdefault(chat_id, tg.chat(chat_id, chat_type, first_name))
        raw: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": sender,
            "chat": chat,
            "date": tg.now(),
        }
        if message_thread_id is not None:
            raw |= {"message_thread_id": message_thread_id, "is_topic_message": True}
        if reply_to_message_id is not None:
            target = self.find_message(chat_id, reply_to_message_id)
            if target is None:
                raise AssertionError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
            raw["reply_to_message"] = {k: v for k, v in target.raw.items() if k != "reply_to_message"}
        if text is not None:
            raw["text"] = text
            if entities := tg.command_entities(text):
                raw["entities"] = entities
        raw |= _user_media(
            photo=photo, document=document, voice=voice, video=video, audio=audio, sticker=sticker
        )
        if contact_phone is not None:
            raw["contact"] = {"phone_number": contact_phone, "first_name": first_name, "user_id": user_id}
        if location is not None:
            raw["location"] = {"latitude": location[0], "longitude": location[1]}
        if caption is not None:
            raw["caption"] = caption
        if media_group_id is not None:
            raw["media_group_id"] = media_group_id
        visible = text if text is not None else caption
        self._store(
            SentMessage(raw["message_id"], chat_id, "user", visible, {}, raw["date"], raw=raw, from_bot=False)
        )
        return self._enqueue({"message": raw})

    def _remember_user(self, user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
        self.users[user_id] = tg.user(user_id, first_name, language_code)
        return self.users[user_id]

    def last_user_message_id(self, chat_id: int) -> int:
        history = self.user_messages.get(chat_id)
        if not history:
            raise AssertionError(f"no user messages in chat {chat_id}")
        return history[-1].message_id

    def callback(self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None) -> int:
        """Press an inline button: pushes a callback_query for a bot message; returns the update_id."""
        chat_id = user_id if chat_id is None else chat_id
        msg = self.find_message(chat_id, message_id)
        if msg is None or not msg.from_bot or msg.deleted:
            raise AssertionError(f"no live bot message {message_id} in chat {chat_id} to press a button on")
        query_id = str(next(self._callback_ids))
        self.issued_callbacks.add(query_id)
        sender = self.users.get(user_id) or self._remember_user(user_id, "Test", "ru")
        query = {
            "id": query_id,
            "from": sender,
            "message": msg.raw,
            "chat_instance": f"-{abs(chat_id) * 7919 % 10**18 + 1}",
            "data": data,
        }
        return self._enqueue({"callback_query": query})

    def my_chat_member(self, user_id: int, status: str = "kicked", *, chat_id: int | None = None) -> int:
        """The user changed the bot's membership: in their private chat ``kicked`` means blocked.

        With ``chat_id`` of a group the user added (``member``/``administrator``) or removed
        (``left``/``kicked``) the bot there.
        """
        sender = self.users.get(user_id) or self._remember_user(user_id, "Test", "ru")
        chat_id = user_id if chat_id is None else chat_id
        if chat_id == user_id and status == "kicked":
            self.block(user_id)
        elif chat_id == user_id and status == "member":
            self.unblock(user_id)
        self.member_status[(chat_id, tg.BOT_ID)] = status
        chat = self.chats.setdefault(chat_id, tg.chat(chat_id, None, sender["first_name"]))
        return self._enqueue({"my_chat_member": tg.chat_member_update(chat, sender, status)})

    def push_update(self, raw: dict[str, Any]) -> int:
        return self._enqueue(raw)

    def repeat_update(self, update_id: int) -> int:
        """Deliver an already delivered update again with the same update_id (a duplicate)."""
        if update_id not in self.all_updates:
            raise AssertionError(f"update {update_id} was never pushed")
        return self._enqueue(json.loads(json.dumps(self.all_updates[update_id])), forced=True)

    def age_message(self, chat_id: int, message_id: int, hours: float) -> None:
        msg = self.find_message(chat_id, message_id)
        if msg is None:
            raise AssertionError(f"no message {message_id} in chat {chat_id}")
        msg.date -= int(hours * 3600)
        msg.raw["date"] = msg.date

    # -- observation ------------------------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.messages.get(chat_id, []) if not m.deleted]

    def last_sent(self, chat_id: int) -> SentMessage:
        sent = self.sent_to(chat_id)
        if not sent:
            raise AssertionError(f"the bot sent nothing (still visible) to chat {chat_id}\n{self.dump()}")
        return sent[-1]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    # A plain `timeout` argument is this helper's documented API; asyncio.timeout would hide the dump.
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                if predicate():
                    return
            # A predicate like `last_sent(chat).text == ...` raises until the first message arrives.
            except (AssertionError, LookupError) as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                reason = f" (last predicate error: {last_error!r})" if last_error else ""
                raise AssertionError(f"condition not met within {timeout}s{reason}\n{self.dump()}")
            await asyncio.sleep(0.01)

    async def wait_sent(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,
    ) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages to the chat in total, deleted ones included.

        Returns the whole history of the chat (deleted messages included, flagged) so indexes
        line up with the count.
        """
        await self.wait_for(lambda: len(self.messages.get(chat_id, [])) >= count, timeout)
        return list(self.messages[chat_id])

    @staticmethod
    def buttons(msg: SentMessage) -> list[tuple[str, str]]:
        return [(b["text"], b.get("callback_data", "")) for b in tg.inline_buttons(msg.reply_markup)]

    def button_data(self, msg: SentMessage, text_substring: str) -> str:
        for text, data in self.buttons(msg):
            if text_substring.lower() in text.lower():
                return data
        raise AssertionError(f"no button containing {text_substring!r}; buttons: {self.buttons(msg)}")

    @staticmethod
    def reply_keyboard(msg: SentMessage) -> list[dict[str, Any]]:
        return tg.reply_buttons(msg.reply_markup)

    def assert_no_spec_errors(self) -> None:
        assert not self.spec_errors, "Bot API spec violations:\n" + "\n".join(self.spec_errors)

    def dump(self, last: int = 20) -> str:
        # getUpdates polls would crowd out the calls that explain a failure.
        calls = [c for c in self.calls if c.method.lower() != "getupdates"]
        lines = [f"last {min(last, len(calls))} of {len(calls)} calls (getUpdates omitted):"]
        for call in calls[-last:]:
            shown = {k: v for k, v in call.params.items() if not isinstance(v, UploadedFile)}
            status = f" -> {call.error}" if call.error else ""
            lines.append(
                f"  {call.method} {json.dumps(shown, ensure_ascii=False, default=str)[:300]}{status}"
            )
        if self.spec_errors:
            lines.append("spec errors: " + "; ".join(self.spec_errors))
        if self.emulator_errors:
            lines.append("emulator errors: " + "; ".join(self.emulator_errors))
        if self.filtered_updates:
            lines.append(f"{len(self.filtered_updates)} update(s) dropped by allowed_updates")
        return "\n".join(lines)


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _plausible_token(token: str) -> bool:
    bot_id, _, secret = token.partition(":")
    return bot_id.isdigit() and bool(secret)


def _fault_error(fault: _Fault) -> ApiError:
    code = fault.error_code or 500
    parameters: dict[str, Any] = {}
    if code == 429:
        parameters["retry_after"] = fault.retry_after
        default = f"Too Many Requests: retry after {fault.retry_after}"
    elif code == 403:
        default = "Forbidden: bot was blocked by the user"
    elif code >= 500:
        default = "Internal Server Error"
    elif fault.migrate_to_chat_id is not None:
        parameters["migrate_to_chat_id"] = fault.migrate_to_chat_id
        default = "Bad Request: group chat was upgraded to a supergroup chat"
    else:
        default = {
            401: "Unauthorized",
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
        }.get(code, "Bad Request: injected failure")
    return ApiError(code, fault.description or default, parameters or None)


def _user_media(
    *, photo: bool, document: bool, voice: bool, video: bool, audio: bool, sticker: bool
) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if photo:
        content["photo"] = tg.photo_sizes()
    for kind, wanted in (
        ("document", document),
        ("voice", voice),
        ("video", video),
        ("audio", audio),
        ("sticker", sticker),
    ):
        if wanted:
            content[kind] = tg.media(kind)
    return content
