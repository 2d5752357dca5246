"""The VK transport: Bots Long Poll in one dedicated thread, events handled on the asyncio loop.

vk-api is synchronous. The thread only waits for VK and hands each batch of events to the loop; the
long-poll ``ts`` moves on only after VK answered, so a dropped connection asks again for the same
events (never loses them), and a repeated event is recognised by its ``event_id`` (never handled twice).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Coroutine
from typing import Any

import requests
from aiohttp import web
from vk_api import VkApi
from vk_api.bot_longpoll import VkBotLongPoll
from vk_api.exceptions import ApiError, ApiHttpError

from bot.config import ConfigError
from bot.vk.client import VkCaller, create_vk
from bot.vk.messenger import VkMessenger
from bot.vk.options import VkCallback, VkTiming
from bot.vk.render import ClientInfo, payload_of, replied, to_events, urgent_event, without_mention
from dialogs.primitives import Event, EventKind, Payload
from handlers.cursors import Cursors
from handlers.inbox import Inbox, InboxFeed
from handlers.router import Inbound, InboundRouter
from storage.vocabulary import VK_CHAT_PEER_START, ChatRef, Platform, person_key

log = logging.getLogger(__name__)

AUTH_FAILED = 5
LANGUAGES = {0: "ru", 3: "en"}  # client_info.lang_id
MAX_BACKOFF = 60.0
# A conversation's service messages about its members (message.action.type): gone, or (back) in.
MEMBER_ACTIONS = {
    "chat_kick_user": EventKind.MEMBER_LEFT,
    "chat_invite_user": EventKind.MEMBER_JOINED,
    "chat_invite_user_by_link": EventKind.MEMBER_JOINED,
}


def event_number(event_id: str, part: int = 0) -> int:
    """A VK event id (hex text) as the integer our update log keys on; ``part`` splits one message."""
    digest = hashlib.blake2b(f"{event_id}:{part}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2  # positive and within a signed 64-bit column


class VkTransport:
    platform = Platform.VK

    def __init__(
        self,
        vk: VkApi,
        group_id: int,
        router: InboundRouter,
        cursors: Cursors,
        inbox: Inbox,
        *,
        wait: int = 25,
        backoff: float = 1.0,
        callback: VkCallback | None = None,
        caller: VkCaller | None = None,
    ) -> None:
        self._vk = vk
        self._cursors = cursors
        self._group_id = group_id
        self._cursor_key = f"vk:{group_id}"
        self._inbox = inbox
        self._feed = InboxFeed(
            inbox, Platform.VK, self._dispatch, order=_place, urgent=urgent_event, hurry=router.hurry
        )
        self.callback = callback
        self._receiving = False
        self._router = router
        self._wait = wait
        self._backoff = backoff
        self.messenger = VkMessenger(caller or VkCaller(vk), group_id)
        self._names: dict[int, str] = {}  # coordinators' first names, shown on the cards they take
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.failed: BaseException | None = None

    @classmethod
    def create(
        cls,
        token: str,
        group_id: int,
        api_url: str,
        *,
        router: InboundRouter,
        cursors: Cursors,
        inbox: Inbox,
        wait: int = 25,
        timing: VkTiming | None = None,
        callback: VkCallback | None = None,
    ) -> VkTransport:
        timing = timing or VkTiming()
        vk = create_vk(token, api_url)
        caller = VkCaller(vk, backoff=timing.backoff, rate_wait=timing.rate_wait)
        return cls(
            vk,
            group_id,
            router,
            cursors,
            inbox,
            wait=wait,
            backoff=timing.longpoll_backoff,
            caller=caller,
            callback=callback,
        )

    async def start(self) -> None:
        """A token or community VK refuses stops the start with one line; VK out of reach is waited
        for, one line a try."""
        self._loop = asyncio.get_running_loop()
        delay = self._backoff
        while True:
            try:
                await self._connect()
                return
            except ApiError as exc:
                message = str(exc.error.get("error_msg", exc))
                if int(exc.code) == AUTH_FAILED:
                    raise ConfigError(f"VK_TOKEN: VK did not accept the token ({message})") from None
                if self.callback is not None:
                    raise ConfigError(
                        f"VK_GROUP_ID: VK refused community {self._group_id} ({message})"
                    ) from None
                raise ConfigError(
                    f"VK_GROUP_ID: VK refused the long poll of community {self._group_id} ({message}); "
                    "check the id and that Bots Long Poll is on in the community settings"
                ) from None
            except (ApiHttpError, requests.RequestException) as exc:
                log.warning("VK cannot be reached yet (%s); retrying in %.0fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    async def _connect(self) -> None:
        if self.callback is not None:
            # Callback API: VK posts events to us; the token is checked once here.
            await asyncio.to_thread(self._vk.method, "groups.getById", {"group_id": self._group_id})
            await self._feed.replay()
            self._receiving = True
            log.info("VK community %d receives events through the Callback API", self._group_id)
            return
        # The first server address is fetched here, so a wrong token or group id stops the start.
        longpoll = await asyncio.to_thread(VkBotLongPoll, self._vk, self._group_id, self._wait)
        stored = await self._cursors.load(self._cursor_key)
        if stored:
            # Events that came while the bot was down: VK keeps them for a while after this ts
            # (if it has dropped them it answers "failed": 1 and check() takes the new ts).
            longpoll.ts = stored
        await self._feed.replay()  # taken before the last stop and not finished: first
        log.info("VK community %d is listening", self._group_id)
        self._thread = threading.Thread(
            target=self._listen, args=(longpoll,), name="vk-longpoll", daemon=True
        )
        self._thread.start()

    async def start_link(self) -> str | None:
        """Where a start link points: the community's ``https://vk.me/<screen name>?ref=``; VK hands
        the ``ref`` over with the "Start" message (``message.ref``)."""
        answer = await asyncio.to_thread(self._vk.method, "groups.getById", {"group_id": self._group_id})
        groups = answer.get("groups") if isinstance(answer, dict) else answer
        first = groups[0] if isinstance(groups, list) and groups and isinstance(groups[0], dict) else {}
        name = first.get("screen_name") or f"club{self._group_id}"
        return f"https://vk.me/{name}?ref="

    async def on_callback(self, request: web.Request) -> web.Response:
        """VK's Callback API: the confirmation code, the secret checked on every event, the event kept
        in the inbox, then "ok" at once (handling goes on after the answer)."""
        callback = self.callback
        if callback is None or not self._receiving:
            return web.Response(status=503)
        try:
            raw = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(raw, dict) or raw.get("group_id") != self._group_id:
            return web.Response(status=403)
        if raw.get("type") == "confirmation":
            return web.Response(text=callback.confirmation_code)
        if not hmac.compare_digest(str(raw.get("secret", "")).encode(), callback.secret.encode()):
            log.warning("a VK callback without the right secret was refused")
            return web.Response(status=403)
        event = {k: v for k, v in raw.items() if k != "secret"}  # the secret is not kept
        key = _inbox_key(event)
        try:
            await self._inbox.accept(Platform.VK, [(key, event)])
        except Exception:
            log.exception("a VK event could not be kept; VK will send it again")
            return web.Response(status=500)
        # Queued behind the bound, never waited for here: VK wants its "ok" at once; a slow answer is a
        # failed delivery (sent again; several in a row and VK pauses the server). It is kept: safe.
        self._feed.spawn(key, event)
        return web.Response(text="ok")

    # ---- the long-poll thread ----

    def _listen(self, longpoll: VkBotLongPoll) -> None:
        delay = self._backoff
        while not self._stop.is_set():
            try:
                # check() handles VK's "failed" answers as documented: 1 takes the new ts,
                # 2 fetches a new key, 3 a new key and ts.
                raw_events = [event.raw for event in longpoll.check()]
            except ApiError as exc:
                if int(exc.code) == AUTH_FAILED:
                    # A revoked token will not come back by itself: stop loudly, not ignore families.
                    log.error("VK no longer accepts the token; the VK transport stops")
                    self.failed = exc
                    return
                log.warning("VK long poll failed (error %s); retrying in %.0fs", exc.code, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            except (ApiHttpError, requests.RequestException, ValueError, KeyError) as exc:
                log.warning("VK long poll failed (%s); retrying in %.0fs", type(exc).__name__, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            except Exception as exc:
                log.exception("VK long poll stopped")
                self.failed = exc
                return
            delay = self._backoff
            if not self._on_loop(self._accept(raw_events, str(longpoll.ts))):
                if not self._stop.is_set():
                    self.failed = RuntimeError("the event loop stopped taking VK events")
                return

    def _on_loop(self, work: Coroutine[Any, Any, None]) -> bool:
        """Run ``work`` on the event loop and wait for it; False when the loop is gone."""
        loop = self._loop
        if loop is None or loop.is_closed():
            work.close()
            return False
        future = asyncio.run_coroutine_threadsafe(work, loop)
        while True:
            try:
                future.result(timeout=1.0)
            except concurrent.futures.TimeoutError:
                if loop.is_closed():
                    return False
                continue
            except (RuntimeError, concurrent.futures.CancelledError):
                return False
            return True

    # ---- on the loop ----

    async def _accept(self, raw_events: list[dict[str, Any]], ts: str) -> None:
        """The batch and the new ``ts`` are kept in one transaction before anything else: the long poll
        asks VK for more only after that. Then each event is handed on, started in order (the person's
        ticket and lock keep one family's events in order); one family's slow reply never holds up another's SOS.
        While the bound of events in flight is full, the long poll waits: a burst waits at VK."""
        batch = [(_inbox_key(raw), raw) for raw in raw_events]
        await self._feed.keep(batch, cursor=(self._cursor_key, ts))
        # VK hands over every event it holds after ``ts`` in one answer (no page size): the long poll is
        # never behind after an answer, so a flooder's lane is never held back for the others' sake.
        for key, raw in batch:
            self._feed.spawn(key, raw)
        await self._feed.room()

    async def _dispatch(self, raw: dict[str, Any]) -> bool:
        """False when it failed: the event stays in the inbox for the next start."""
        try:
            kind, obj = raw.get("type"), raw.get("object") or {}
            event_id = str(raw.get("event_id") or "")
            if kind == "message_new":
                await self._on_message(obj, event_id)
            elif kind == "message_event":
                await self._on_press(obj, event_id)
            elif kind in {"message_allow", "message_deny"} and "user_id" in obj:
                await self._router.membership(
                    Platform.VK, int(obj["user_id"]), reachable=kind == "message_allow"
                )
        except Exception:
            log.exception("a VK event could not be handled")
            return False
        return True

    async def _on_message(self, obj: dict[str, Any], event_id: str) -> None:
        message = obj.get("message") or {}
        peer_id, from_id = int(message.get("peer_id", 0)), int(message.get("from_id", 0))
        action = message.get("action") or {}
        if action.get("type") in MEMBER_ACTIONS and peer_id >= VK_CHAT_PEER_START:
            member = _int(action.get("member_id"))
            if member is not None and member > 0:  # not the community itself
                event = Event(kind=MEMBER_ACTIONS[action["type"]])
                chat = ChatRef.of(Platform.VK, peer_id)
                await self._router.route(Inbound(chat=chat, user_id=member, event=event))
            return
        if from_id <= 0:
            return  # a community's own message
        chat = ChatRef.of(Platform.VK, peer_id)
        if chat.is_private and peer_id != from_id:
            return  # a private dialog is the person's own
        if chat.is_private:
            self.messenger.clients[peer_id] = ClientInfo.parse(obj.get("client_info"))
        lang = (obj.get("client_info") or {}).get("lang_id")
        reply = replied(message)
        name = ""
        if not chat.is_private:
            message = without_mention(message, self._group_id)
            name = await self._name(from_id)
        for part, event in enumerate(to_events(message)):
            await self._router.route(
                Inbound(
                    chat=chat,
                    user_id=from_id,
                    event=event,
                    update_id=event_number(event_id, part) if event_id else None,
                    message_id=_int(message.get("conversation_message_id")) if part == 0 else None,
                    language_code=LANGUAGES.get(lang) if isinstance(lang, int) else None,
                    reply_to=_int(reply.get("conversation_message_id")),
                    reply_to_bot=_int(reply.get("from_id")) == -self._group_id,
                    user_name=name,
                    # A text button's press is a message of the person's own: quick exit deletes it too.
                    own_message=True,
                    text=str(message.get("text") or ""),
                    has_media=bool(message.get("attachments")),
                )
            )

    async def _on_press(self, obj: dict[str, Any], event_id: str) -> None:
        user_id, peer_id = int(obj.get("user_id", 0)), int(obj.get("peer_id", 0))
        press_id = str(obj.get("event_id") or "")
        if user_id <= 0 or peer_id <= 0 or (peer_id < VK_CHAT_PEER_START and peer_id != user_id):
            return
        payload = payload_of(obj.get("payload"))
        chat = ChatRef.of(Platform.VK, peer_id)
        answer = await self._router.route(
            Inbound(
                chat=chat,
                user_id=user_id,
                user_name="" if chat.is_private else await self._name(user_id),
                event=Event(kind=EventKind.BUTTON, payload=payload if isinstance(payload, Payload) else None),
                update_id=event_number(event_id or press_id),
                message_id=_int(obj.get("conversation_message_id")),
            )
        )
        if press_id:
            await self.messenger.answer_press(press_id, user_id, peer_id, answer.text)

    async def _name(self, user_id: int) -> str:
        """A coordinator's first name from VK (kept after the first look); empty when VK says nothing."""
        if user_id not in self._names:
            try:
                found = await self.messenger.call("users.get", user_ids=[user_id])
            except Exception as exc:  # a name is a nicety: never lose the message for it
                log.info("VK did not give a coordinator's name (%s)", exc)
                return ""
            first = found[0] if isinstance(found, list) and found else {}
            name = " ".join(str(first.get(k) or "") for k in ("first_name", "last_name")).strip()
            self._names[user_id] = name
        return self._names[user_id]

    # ---- stopping ----

    async def stop_listening(self) -> None:
        """Take no new events; those being handled go on (Application.stop drains them)."""
        self._receiving = False
        self._stop.set()
        self._feed.stop()  # also lets a long poll waiting for room go, to see the stop
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def close(self) -> None:
        await self.stop_listening()
        await self._feed.finish()
        self._vk.http.close()


def _inbox_key(raw: dict[str, Any]) -> int:
    """VK's event id names an event; one without (never seen, but possible) is named by its content."""
    event_id = raw.get("event_id")
    if event_id:
        return event_number(str(event_id), -1)
    return event_number(json.dumps(raw, sort_keys=True, ensure_ascii=False), -2)


def _place(_key: int, raw: dict[str, Any]) -> tuple[str | None, int | None]:
    """Whose event it is; VK numbers none across a community's events: kept order is the order."""
    obj = raw.get("object") or {}
    sender = (
        (obj.get("message") or {}).get("from_id") if raw.get("type") == "message_new" else obj.get("user_id")
    )
    user_id = _int(sender)
    return (person_key(Platform.VK, user_id) if user_id and user_id > 0 else None), None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None
