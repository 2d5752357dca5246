"""State, records and the non-messaging Bot API methods of the Telegram emulator.

Each ``_api_<lowercased method>`` coroutine takes the decoded request parameters and returns the
``result`` field, or raises :class:`ApiError` with the description the real server would give.
The messaging methods live in ``methods.py``; the HTTP side in ``emulator.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.sandbox.telegram import objects as tg

MESSAGE_DELETE_WINDOW = 48 * 3600
# What Telegram sends when allowed_updates was never given (or given as an empty list).
_DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


@dataclass
class SentMessage:
    """A message in the emulated chat history, sent by the bot or pushed as a user's message.

    ``text`` is the visible text or caption (HTML tags stripped), ``params`` the decoded request
    (``reply_markup`` as a dict); ``text``, ``params`` and ``raw`` follow later edits.
    """

    message_id: int
    chat_id: int
    method: str
    text: str | None
    params: dict[str, Any]
    date: int
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    from_bot: bool = True
    edits: int = 0

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        markup = self.params.get("reply_markup")
        return markup if isinstance(markup, dict) else None


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    error: str | None = None
    content_type: str = ""  # how the request's body came: a form, a multipart upload or JSON


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class _Queued:
    update: dict[str, Any]
    # A repeated update keeps its old id, which the bot's offset has already passed.
    forced: bool = False
    delivered: bool = False


def _update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class EmulatorState:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.spec_errors: list[str] = []
        self.messages: dict[int, list[SentMessage]] = {}
        self.user_messages: dict[int, list[SentMessage]] = {}
        self.deleted: dict[int, set[int]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.issued_callbacks: set[str] = set()
        # (scope key such as "default" or "chat:123", language_code or "") -> BotCommand dicts
        self.my_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.member_status: dict[tuple[int, int], str] = {}
        self.files: dict[str, bytes] = {}
        self.file_paths: dict[str, str] = {}
        self.all_updates: dict[int, dict[str, Any]] = {}
        self.allowed_updates: frozenset[str] = frozenset()
        self.filtered_updates: list[dict[str, Any]] = []
        self._queue: list[_Queued] = []
        self.webhook: dict[str, str] | None = None
        self.webhook_targets: list[str] = []
        self.webhook_answers: list[int] = []
        self._webhook_task: asyncio.Task[None] | None = None
        self._update_ids = itertools.count(100_001)
        self._group_seq = itertools.count(13_000_000_000_001)
        self._update_event = asyncio.Event()
        self._stopping = asyncio.Event()
        self._msg_seq: dict[int, int] = {}
        self._index: dict[tuple[int, int], SentMessage] = {}

    # -- shared helpers ---------------------------------------------------------------------------

    def _next_message_id(self, chat_id: int) -> int:
        self._msg_seq[chat_id] = self._msg_seq.get(chat_id, 0) + 1
        return self._msg_seq[chat_id]

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return self.chats.get(chat_id) or tg.chat(chat_id)

    def _resolve_chat(self, value: Any) -> int:
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.startswith("@"):
            for chat_id, chat in self.chats.items():
                if chat.get("username") == value[1:]:
                    return chat_id
        raise bad_request("chat not found")

    def find_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        return self._index.get((chat_id, message_id))

    def _store(self, msg: SentMessage) -> SentMessage:
        target = self.messages if msg.from_bot else self.user_messages
        target.setdefault(msg.chat_id, []).append(msg)
        self._index[(msg.chat_id, msg.message_id)] = msg
        return msg

    def _enqueue(self, update: dict[str, Any], *, forced: bool = False) -> int:
        # A snapshot: later edits of the stored message must not change an update already "sent".
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        self.all_updates.setdefault(update["update_id"], copy.deepcopy(update))
        self._queue.append(_Queued(update, forced=forced))
        # Wake every pending long-poll: they all hold the old event object.
        self._update_event.set()
        self._update_event = asyncio.Event()
        return int(update["update_id"])

    async def _sleep(self, seconds: float) -> None:
        """Sleep that ends early on stop(), so a server shutdown never waits for fake latency."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


class ServiceMethods(EmulatorState):
    # -- bot identity and settings ----------------------------------------------------------------

    async def _api_getme(self, p: dict[str, Any]) -> Any:
        return tg.bot_me()

    async def _api_getupdates(self, p: dict[str, Any], alive: Callable[[], bool] = lambda: True) -> Any:
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(int(p.get("timeout") or 0), 0)
        if isinstance(p.get("allowed_updates"), list):
            # Like Telegram, the last list sent stays in force; an empty list means "the default set".
            self.allowed_updates = frozenset(p["allowed_updates"])
        deadline = time.monotonic() + timeout
        while True:
            if not alive():
                # The poller went away (e.g. stop_polling); taking updates now would hand them
                # to nobody and, for repeated updates, lose them.
                return []
            ready = self._take_updates(offset, limit)
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._stopping.is_set():
                return ready
            event = self._update_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _take_updates(self, offset: int, limit: int) -> list[dict[str, Any]]:
        # Telegram never delivers update types the bot did not subscribe to; drop them for good.
        allowed = self.allowed_updates or _DEFAULT_ALLOWED
        for q in self._queue:
            if _update_type(q.update) not in allowed:
                self.filtered_updates.append(q.update)
        self._queue = [q for q in self._queue if _update_type(q.update) in allowed]
        if offset < 0:
            # Telegram: a negative offset keeps only the last -offset updates.
            self._queue = self._queue[offset:]
        elif offset:
            self._queue = [
                q for q in self._queue if q.update["update_id"] >= offset or (q.forced and not q.delivered)
            ]
        ready = self._queue[:limit]
        for q in ready:
            q.delivered = True
        return [q.update for q in ready]

    async def _api_deletewebhook(self, p: dict[str, Any]) -> Any:
        if p.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook = None
        return True

    async def _api_getwebhookinfo(self, p: dict[str, Any]) -> Any:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._queue)}

    async def _api_setwebhook(self, p: dict[str, Any]) -> Any:
        """Like Telegram: updates are then POSTed to the URL with the secret header, one at a time,
        again and again until the bot answers 200. ``webhook_targets`` stands in for the public URL
        (round robin over several: a load balancer in front of replicas)."""
        self.webhook = {"url": str(p["url"]), "secret": str(p.get("secret_token") or "")}
        if isinstance(p.get("allowed_updates"), list):
            self.allowed_updates = frozenset(p["allowed_updates"])
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._push_webhooks(), name="emulator-webhook")
        return True

    async def _push_webhooks(self) -> None:
        turn = 0
        async with aiohttp.ClientSession() as session:
            while not self._stopping.is_set():
                if self.webhook is None:
                    await self._sleep(0.05)
                    continue
                self._take_updates(0, 0)  # drops update types the bot did not ask for
                waiting = [q for q in self._queue if not q.delivered]
                if not waiting:
                    event = self._update_event
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), 0.1)
                    continue
                queued = waiting[0]
                targets = self.webhook_targets or [self.webhook["url"]]
                target = targets[turn % len(targets)]
                turn += 1
                headers = (
                    {"X-Telegram-Bot-Api-Secret-Token": self.webhook["secret"]}
                    if self.webhook["secret"]
                    else {}
                )
                try:
                    async with session.post(target, json=queued.update, headers=headers) as reply:
                        ok = reply.status == 200
                        self.webhook_answers.append(reply.status)
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    queued.delivered = True
                    self._queue.remove(queued)
                else:
                    await self._sleep(0.05)

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not isinstance(scope, dict):
            return "default"
        parts = [str(scope.get("type", "default"))]
        parts += [str(scope[k]) for k in ("chat_id", "user_id") if k in scope]
        return ":".join(parts)

    async def _api_setmycommands(self, p: dict[str, Any]) -> Any:
        key = (self._scope_key(p.get("scope")), str(p.get("language_code") or ""))
        self.my_commands[key] = list(p.get("commands") or [])
        return True

    async def _api_getmycommands(self, p: dict[str, Any]) -> Any:
        return self.my_commands.get((self._scope_key(p.get("scope")), str(p.get("language_code") or "")), [])

    async def _api_deletemycommands(self, p: dict[str, Any]) -> Any:
        self.my_commands.pop((self._scope_key(p.get("scope")), str(p.get("language_code") or "")), None)
        return True

    async def _api_setmydescription(self, p: dict[str, Any]) -> Any:
        self.descriptions[("description", str(p.get("language_code") or ""))] = str(
            p.get("description") or ""
        )
        return True

    async def _api_setmyshortdescription(self, p: dict[str, Any]) -> Any:
        lang = str(p.get("language_code") or "")
        self.descriptions[("short_description", lang)] = str(p.get("short_description") or "")
        return True

    async def _api_getmydescription(self, p: dict[str, Any]) -> Any:
        lang = str(p.get("language_code") or "")
        return {"description": self.descriptions.get(("description", lang), "")}

    async def _api_getmyshortdescription(self, p: dict[str, Any]) -> Any:
        lang = str(p.get("language_code") or "")
        return {"short_description": self.descriptions.get(("short_description", lang), "")}

    # -- callbacks, chats, files ------------------------------------------------------------------

    async def _api_answercallbackquery(self, p: dict[str, Any]) -> Any:
        query_id = str(p.get("callback_query_id"))
        if query_id not in self.issued_callbacks or query_id in self.callback_answers:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self.callback_answers[query_id] = {
            "text": p.get("text"),
            "show_alert": bool(p.get("show_alert", False)),
            "url": p.get("url"),
        }
        return True

    async def _api_getchat(self, p: dict[str, Any]) -> Any:
        return tg.chat_full_info(self._chat(self._resolve_chat(p.get("chat_id"))))

    async def _api_getchatmember(self, p: dict[str, Any]) -> Any:
        chat_id = self._resolve_chat(p.get("chat_id"))
        user_id = int(p.get("user_id") or 0)
        if user_id == tg.BOT_ID:
            status = "member" if chat_id > 0 else "administrator"
            return tg.member(tg.bot_user(), self.member_status.get((chat_id, user_id), status))
        status = self.member_status.get((chat_id, user_id), "member")
        return tg.member(self.users.get(user_id) or tg.user(user_id), status)

    async def _api_getchatadministrators(self, p: dict[str, Any]) -> Any:
        chat_id = self._resolve_chat(p.get("chat_id"))
        admins = [tg.member(tg.bot_user(), "administrator")]
        for (chat, user_id), status in self.member_status.items():
            if chat == chat_id and status in ("creator", "administrator"):
                admins.append(tg.member(self.users.get(user_id) or tg.user(user_id), status))
        return admins

    async def _api_getfile(self, p: dict[str, Any]) -> Any:
        file_id = str(p.get("file_id"))
        kind = tg.kind_of_file_id(file_id)
        path = f"{kind}s/file_{len(self.file_paths)}.bin"
        self.file_paths[path] = file_id
        size = len(self.files.get(file_id, b"")) or 1024
        return {
            "file_id": file_id,
            "file_unique_id": f"u{abs(hash(file_id))}",
            "file_size": size,
            "file_path": path,
        }

    def file_bytes(self, path: str) -> bytes | None:
        file_id = self.file_paths.get(path)
        if file_id is None:
            return None
        # A file the bot uploaded or a user sent with bytes comes back intact; any other gets filler.
        return self.files.get(file_id, f"emulated content of {file_id}\n".encode() * 32)

    async def _api_close(self, p: dict[str, Any]) -> Any:
        return True

    async def _api_logout(self, p: dict[str, Any]) -> Any:
        return True
