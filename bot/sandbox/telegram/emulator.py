"""A local Telegram Bot API server for end-to-end tests of the real aiogram Bot and Dispatcher.

Point aiogram at it with ``AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))``.
Every request is checked against the Bot API spec (``bot/sandbox/telegram/spec.py``); the emulator keeps
the chat history so tests can act as users (``message``, ``callback``) and observe what the bot sent.
"""

from __future__ import annotations

import asyncio
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
from bot.sandbox.telegram.members import MemberUpdates
from bot.sandbox.telegram.spec import UploadedFile, decode_params, spec_available, validate_request
from bot.sandbox.telegram.state import ApiError, Call, SentMessage
from bot.sandbox.telegram.users import UserActions

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


class TelegramEmulator(MemberUpdates, UserActions):
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
        self._runner: web.AppRunner | None = None
        # The bot's Telegram Stars (getMyStarBalance), in nanostars (1 Star = 10**9): tests set it.
        self.nanostars = 0

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

    # -- Telegram Stars ---------------------------------------------------------------------------

    def set_star_balance(self, stars: float) -> None:
        self.nanostars = round(stars * 1_000_000_000)

    async def _api_getmystarbalance(self, p: dict[str, Any]) -> Any:
        amount, nano = divmod(self.nanostars, 1_000_000_000)
        return {"amount": amount, "nanostar_amount": nano} if nano else {"amount": amount}

    # -- HTTP -------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            raw = await self._read_params(request)
        except ValueError as exc:
            self.calls.append(call := Call(method, {}, time.time()))
            return self._reply(call, ApiError(400, f"Bad Request: can't parse request body: {exc}"))
        params = decode_params(method, raw)
        call = Call(method, params, time.time(), content_type=request.content_type)
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
