"""The MAX transport: long polling ``GET /updates`` on the loop, or in webhook mode a subscription
(``POST /subscriptions``) whose updates MAX posts to ``/max`` on the bot's own web server; each
update is translated for the router.

Long polling: the batch and the new marker are kept in one transaction before the next ``/updates``;
after a crash the unhandled updates come again, and a repeat is recognised by its update number
(derived from MAX's message or callback id), never handled twice. Webhooks: the secret MAX sends in
``X-Max-Bot-Api-Secret`` is checked, the update is kept in the inbox, then 200 at once (MAX counts
anything else, or 30 s without an answer, as a failure and posts it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web

from bot.config import ConfigError
from bot.max.client import MaxAuthError, MaxClient, MaxTiming
from bot.max.ids import MessageIds
from bot.max.messenger import MaxMessenger
from bot.max.render import message_number, payload_of, to_events, urgent_event
from bot.max.subscriptions import SECRET_HEADER, MaxWebhook, subscribe, unsubscribe_all
from dialogs.primitives import Event, EventKind
from handlers.cursors import Cursors
from handlers.inbox import Inbox, InboxFeed
from handlers.ports import DeliveryFailedError, RecipientUnreachableError
from handlers.router import Inbound, InboundRouter
from storage.uow import Database
from storage.vocabulary import ChatKind, ChatRef, Platform, person_key

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
FULL = 100  # updates a /updates answer holds at most (its default limit)
UPDATE_TYPES = (
    "message_created",
    "message_callback",
    "bot_started",
    "bot_stopped",
    "dialog_removed",
    "user_added",
    "user_removed",
)


def update_number(*parts: object) -> int:
    """An update's integer id for our update log: MAX's updates carry none, their messages do."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2


class MaxTransport:
    platform = Platform.MAX

    def __init__(
        self,
        client: MaxClient,
        ids: MessageIds,
        router: InboundRouter,
        cursors: Cursors,
        inbox: Inbox,
        *,
        wait: int = 30,
        backoff: float = 1.0,
        webhook: MaxWebhook | None = None,
    ) -> None:
        self._client = client
        self.webhook = webhook
        self._receiving = False
        self._ids = ids
        self._router = router
        self._cursors = cursors
        self._inbox = inbox
        self._feed = InboxFeed(
            inbox, Platform.MAX, self._dispatch, order=_place, urgent=urgent_event, hurry=router.hurry
        )
        self._wait = wait
        self._backoff = backoff
        self.messenger = MaxMessenger(client, ids)
        self._bot_id: int | None = None
        self._username: object = None  # from /me: the name in start links
        self._cursor_key = "max"
        self._marker: int | None = None
        self._poll: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None

    @classmethod
    def create(
        cls,
        token: str,
        api_url: str,
        router: InboundRouter,
        db: Database,
        inbox: Inbox,
        *,
        wait: int = 30,
        timing: MaxTiming | None = None,
        webhook: MaxWebhook | None = None,
    ) -> MaxTransport:
        timing = timing or MaxTiming()
        client = MaxClient(token, api_url, timing=timing)
        ids, cursors = MessageIds(db), Cursors(db)
        return cls(
            client, ids, router, cursors, inbox, wait=wait, backoff=timing.longpoll_backoff, webhook=webhook
        )

    async def start(self) -> None:
        try:
            me = await self._client.call("GET", "/me")
        except MaxAuthError as exc:
            await self._client.close()
            raise ConfigError(f"MAX_TOKEN: MAX did not accept the token ({exc})") from None
        except DeliveryFailedError:
            # Not reachable yet: the long poll retries with backoff (and checks the token when MAX answers).
            log.warning("MAX cannot be reached yet; retrying in the background")
            me = None
        self._bot_id = int(me["user_id"]) if isinstance(me, dict) and "user_id" in me else None
        self._username = me.get("username") if isinstance(me, dict) else None
        if self.webhook is not None:
            await self._feed.replay()  # taken before the last stop and not finished: first
            self._receiving = True  # the hook answers before MAX knows it: no update is refused
            self._poll = asyncio.create_task(self._subscribe(self.webhook), name="max-subscribe")
            return
        stored = await self._cursors.load(self._cursor_key)
        self._marker = int(stored) if stored else None
        await self._feed.replay()  # taken before the last stop and not finished: first
        log.info("MAX bot is listening")
        self._poll = asyncio.create_task(self._listen(), name="max-longpoll")

    async def _subscribe(self, webhook: MaxWebhook) -> None:
        self.failed = await subscribe(self._client, webhook, UPDATE_TYPES, self._backoff)
        if self.failed is None and self._bot_id is None:
            await self._who_am_i()

    async def on_webhook(self, request: web.Request) -> web.Response:
        """An update MAX posts: the secret checked, the update kept in the inbox, then 200 at once
        (handling goes on after the answer). A repeat is kept once and handled once."""
        webhook = self.webhook
        if webhook is None or not self._receiving:
            return web.Response(status=503)
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), webhook.secret.encode()):
            log.warning("a MAX webhook request without the right secret was refused")
            return web.Response(status=401)
        try:
            update = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_type"), str):
            return web.Response(status=400)
        key = _inbox_key(update)
        try:
            await self._inbox.accept(Platform.MAX, [(key, update)])
        except Exception:
            log.exception("a MAX update could not be kept; MAX will post it again")
            return web.Response(status=500)
        # Queued behind the bound, never waited for here: MAX counts an answer later than 30 s as a failed
        # delivery and posts it again only a minute or more later; it is kept, so it is safe.
        self._feed.spawn(key, update)
        return web.json_response({"success": True})

    async def _listen(self) -> None:
        await unsubscribe_all(self._client)
        delay = self._backoff
        while True:
            params: dict[str, Any] = {"timeout": self._wait, "types": list(UPDATE_TYPES)}
            if self._marker is not None:
                params["marker"] = self._marker
            try:
                answer = await self._client.call(
                    "GET", "/updates", params=params, wait=self._wait + 10, attempts=1
                )
            except MaxAuthError as exc:
                # A revoked token will not come back by itself: stop loudly, not ignore families.
                log.error("MAX no longer accepts the token; the MAX transport stops")
                self.failed = ConfigError(f"MAX_TOKEN: MAX did not accept the token ({exc})")
                return
            except (DeliveryFailedError, RecipientUnreachableError, ValueError) as exc:
                log.warning("MAX long poll failed (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            except Exception as exc:
                log.exception("MAX long poll stopped")
                self.failed = exc
                return
            delay = self._backoff
            if self._bot_id is None:
                await self._who_am_i()
            updates = answer.get("updates") if isinstance(answer, dict) else None
            marker = answer.get("marker") if isinstance(answer, dict) else None
            await self._accept(
                updates if isinstance(updates, list) else [], marker if isinstance(marker, int) else None
            )

    async def _who_am_i(self) -> None:
        """The bot's own id (to see replies to its messages), once MAX answers after a slow start."""
        try:
            me = await self._client.call("GET", "/me", attempts=1)
        except (DeliveryFailedError, MaxAuthError, RecipientUnreachableError):
            return
        if isinstance(me, dict) and isinstance(me.get("user_id"), int):
            self._bot_id = me["user_id"]

    async def _accept(self, updates: list[Any], marker: int | None) -> None:
        """The batch and the new marker are kept in one transaction before anything else (the next
        ``/updates`` is asked only after that); then each update is handed on, started in order. While
        the bound of updates in flight is full, the next ``/updates`` waits: a burst waits at MAX."""
        batch = [(_inbox_key(u), u) for u in updates if isinstance(u, dict)]
        moved = marker is not None and marker != self._marker
        cursor = (self._cursor_key, str(marker)) if moved else None
        if batch or cursor:
            await self._feed.keep(batch, cursor=cursor)
        if marker is not None:
            self._marker = marker
        # A full answer: more may wait at MAX, the others' among them (handlers/lanes.py).
        self._feed.caught_up(len(updates) < FULL)
        for key, update in batch:
            self._feed.spawn(key, update)
        await self._feed.room()

    async def _dispatch(self, update: dict[str, Any]) -> bool:
        """False when it failed: the update stays in the inbox for the next start."""
        try:
            kind = update.get("update_type")
            if kind == "message_created":
                await self._on_message(update)
            elif kind == "message_callback":
                await self._on_press(update)
            elif kind in {"bot_started", "bot_stopped", "dialog_removed"}:
                await self._on_dialog(update, kind)
            elif kind in {"user_added", "user_removed"}:  # a member of a group chat, in or gone
                chat_id, user_id = update.get("chat_id"), (update.get("user") or {}).get("user_id")
                if isinstance(chat_id, int) and chat_id < 0 and isinstance(user_id, int):
                    event = Event(
                        kind=EventKind.MEMBER_LEFT if kind == "user_removed" else EventKind.MEMBER_JOINED
                    )
                    group = ChatRef(Platform.MAX, chat_id, ChatKind.GROUP)
                    await self._router.route(Inbound(chat=group, user_id=user_id, event=event))
        except Exception:
            log.exception("a MAX update could not be handled")
            return False
        return True

    def _chat(self, message: dict[str, Any], user_id: int) -> ChatRef | None:
        """The chat, typed from MAX's chat type (the ids alone do not say it)."""
        recipient = message.get("recipient") or {}
        chat_type = recipient.get("chat_type")
        if chat_type == "dialog":
            return ChatRef(Platform.MAX, user_id, ChatKind.PRIVATE)  # kept under the person's id
        chat_id = recipient.get("chat_id")
        if chat_type != "chat" or not isinstance(chat_id, int):
            return None  # a channel: not ours
        if chat_id >= 0:
            # Stored keys read a non-negative MAX id as a person: such a group would be misread.
            log.error("a MAX group chat with a non-negative id was ignored")
            return None
        return ChatRef(Platform.MAX, chat_id, ChatKind.GROUP)

    async def _on_message(self, update: dict[str, Any]) -> None:
        message = update.get("message") or {}
        sender = message.get("sender") or {}
        user_id = sender.get("user_id")
        body = message.get("body") or {}
        if not isinstance(user_id, int) or sender.get("is_bot") or not body.get("mid"):
            return
        chat = self._chat(message, user_id)
        if chat is None:
            return
        mid = str(body["mid"])
        number = message_number(mid)
        pairs = {number: mid}
        link = message.get("link") or {}
        linked = (link.get("message") or {}).get("mid") if link.get("type") == "reply" else None
        reply_to = message_number(str(linked)) if linked else None
        if linked and reply_to is not None:
            pairs[reply_to] = str(linked)
        await self._ids.remember(pairs)
        linked_sender = (link.get("sender") or {}).get("user_id")
        name = " ".join(str(p) for p in (sender.get("first_name"), sender.get("last_name")) if p)
        attachments = [a for a in body.get("attachments") or [] if isinstance(a, dict)]
        for part, event in enumerate(to_events(body, user_id)):
            await self._router.route(
                Inbound(
                    chat=chat,
                    user_id=user_id,
                    event=event,
                    user_name=name,
                    update_id=update_number(mid, part),
                    message_id=number if part == 0 else None,
                    language_code=_language(update.get("user_locale")),
                    reply_to=reply_to,
                    reply_to_bot=linked_sender is not None and linked_sender == self._bot_id,
                    text=str(body.get("text") or ""),
                    has_media=any(a.get("type") != "inline_keyboard" for a in attachments),
                )
            )

    async def _on_press(self, update: dict[str, Any]) -> None:
        callback = update.get("callback") or {}
        user = callback.get("user") or {}
        user_id, callback_id = user.get("user_id"), str(callback.get("callback_id") or "")
        message = update.get("message") or {}
        if not isinstance(user_id, int) or not callback_id:
            return
        chat = self._chat(message, user_id)
        if chat is None:
            return
        mid = (message.get("body") or {}).get("mid")
        number = message_number(str(mid)) if mid else None
        if mid and number is not None:
            await self._ids.remember({number: str(mid)})
        answer = await self._router.route(
            Inbound(
                chat=chat,
                user_id=user_id,
                event=Event(kind=EventKind.BUTTON, payload=payload_of(callback.get("payload"))),
                user_name=" ".join(str(p) for p in (user.get("first_name"), user.get("last_name")) if p),
                update_id=update_number("callback", callback_id),
                message_id=number,
                language_code=_language(update.get("user_locale")),
            )
        )
        await self.messenger.answer_press(callback_id, answer.text)

    async def _on_dialog(self, update: dict[str, Any], kind: str) -> None:
        user_id = (update.get("user") or {}).get("user_id")
        if not isinstance(user_id, int):
            return
        await self._router.membership(Platform.MAX, user_id, reachable=kind == "bot_started")
        if kind == "bot_started":
            # The "Start" button of a new dialog: the same as /start; a start link's ``payload``
            # (max.ru/<bot>?start=...) goes with it, as on Telegram.
            payload = update.get("payload")
            text = f"/start {payload}" if isinstance(payload, str) and payload.strip() else "/start"
            await self._router.route(
                Inbound(
                    chat=ChatRef(Platform.MAX, user_id, ChatKind.PRIVATE),
                    user_id=user_id,
                    event=Event(kind=EventKind.COMMAND, command="start", text=text),
                    update_id=update_number("started", user_id, update.get("timestamp")),
                    language_code=_language(update.get("user_locale")),
                )
            )

    async def start_link(self) -> str | None:
        """Where a start link points: ``https://max.ru/<bot>?start=`` (MAX's documented deep link;
        the payload comes back in ``bot_started``)."""
        if not isinstance(self._username, str) or not self._username:
            return None
        return f"https://max.ru/{self._username}?start="

    async def stop_listening(self) -> None:
        self._receiving = False  # MAX posts again what we refuse now (to another replica, or later)
        self._feed.stop()  # what waits for a slot stays in the inbox for the next start
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
            self._poll = None

    async def close(self) -> None:
        await self.stop_listening()
        await self._feed.finish()
        await self._ids.settle()
        await self._client.close()


def _inbox_key(update: dict[str, Any]) -> int:
    """MAX updates carry no id of their own: one is named by its content (a repeat has the same)."""
    return update_number("inbox", json.dumps(update, sort_keys=True, ensure_ascii=False))


def _place(_key: int, update: dict[str, Any]) -> tuple[str | None, int | None]:
    """Whose update it is; the order is the order kept (MAX's timestamps are not unique)."""
    sender = (update.get("message") or {}).get("sender") or (update.get("callback") or {}).get("user")
    sender = sender or update.get("user") or {}
    user_id = sender.get("user_id") if isinstance(sender, dict) else None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None, None
    return person_key(Platform.MAX, user_id), None


def _language(locale: Any) -> str | None:
    return locale.split("-")[0].lower() if isinstance(locale, str) and locale else None
