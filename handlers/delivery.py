"""The delivery worker: outbox rows -> cards and notes in coordinators' chats.

A ticket and its outbox row are committed together, so a crash or a failed API call between saving
and posting loses nothing: the row stays until its card is out. Each row is leased with a
conditional UPDATE (one worker, or one replica, takes it), chats are paced within the platform's
limits, and failures are retried with backoff. Delivery is at least once: a crash after posting and
before marking the row done posts the card again after the lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dialogs.cards import (
    CARD_STORY_LIMIT,
    Speaker,
    card,
    info_added,
    phone_added,
    topic_name,
    whole_story,
    withdrawn,
)
from dialogs.i18n import Translators
from dialogs.primitives import Screen
from dialogs.state import Attachment
from dialogs.texts import esc
from handlers.desk_common import card_view
from handlers.ports import (
    ChatMigratedError,
    DeliveryFailedError,
    MessageGoneError,
    Messenger,
    RecipientUnreachableError,
)
from storage.models import Outbox, Ticket, utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import OutboxKind, Platform, TicketStatus, parse_person_key, person_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySettings:
    default_chat: str | None  # COORDINATOR_CHAT, "tg:-100..."
    locale: str
    per_chat_interval: float = 3.0  # Telegram: 20 messages a minute in one group
    retry_base: float = 5.0
    retry_max: float = 600.0
    lease: float = 120.0
    poll_interval: float = 5.0
    batch: int = 20


class Pacer:
    """At most one message per ``interval`` seconds to each chat, however many tickets arrive."""

    def __init__(self, interval: float, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._interval = interval
        self._sleep = sleep
        self._next: dict[str, float] = {}

    async def wait(self, chat: str) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        ready = self._next.get(chat, now)
        if ready > now:
            await self._sleep(ready - now)
        self._next[chat] = max(ready, now) + self._interval


MAX_ATTEMPTS = 10  # for files and notes; a ticket's card is retried for as long as it takes


class _RetryLaterError(Exception):
    """Deliver this row later (no chat yet, platform down, ...)."""


class _WaitForCardError(_RetryLaterError):
    """The ticket's card is not posted yet: wait for it without counting an attempt (keeps the order)."""


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        *,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        settings: DeliverySettings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._messengers = messengers
        self._settings = settings
        self._speaker = Speaker(translators[settings.locale], settings.locale)
        self._clock = clock
        self._pacer = Pacer(settings.per_chat_interval)
        self._wake = asyncio.Event()
        self._plain_chats: set[str] = set()  # chats known not to be forums

    def wake(self) -> None:
        """Something new is in the outbox: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        if self._settings.default_chat is None:
            log.warning("COORDINATOR_CHAT is not set: requests are kept and will be delivered once it is")
        while not stop.is_set():
            try:
                delivered = await self.run_once(stop)
            except Exception:
                log.exception("a delivery round failed; retrying")
                delivered = 0
            if delivered:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(
                    waiters, timeout=self._settings.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Deliver what is due now; return how many rows were delivered."""
        now = self._clock()
        async with self._db.uow() as uow:
            if self._settings.default_chat is None and not await uow.bindings.any():
                return 0  # nowhere to deliver: untouched rows are all due at once when a chat is set
            rows = [(row.id, row.kind) for row in await uow.outbox.due(now, self._settings.batch)]
        delivered = 0
        for row_id, _kind in rows:
            if stop is not None and stop.is_set():
                break  # the rest waits in the outbox for the next start
            async with self._db.uow() as uow:
                if not await uow.outbox.lease(
                    row_id, self._clock(), self._clock() + timedelta(seconds=self._settings.lease)
                ):
                    continue
            delivered += await self._deliver(row_id)
        return delivered

    async def _deliver(self, row_id: int) -> int:
        try:
            async with self._db.uow() as uow:
                row = await uow.session.get(Outbox, row_id)
                if row is None:
                    return 0
                await self._one(uow, row)
                await uow.outbox.done(row_id, self._clock())
            return 1
        except Exception as exc:  # whatever went wrong, the row is retried, never lost
            await self._retry_later(row_id, exc)
        return 0

    async def _retry_later(self, row_id: int, exc: Exception) -> None:
        if isinstance(exc, _WaitForCardError):
            async with self._db.uow() as uow:
                # Every row of this ticket waits the same short time: they keep the order they came in.
                await uow.outbox.wait_until(
                    row_id, self._clock() + timedelta(seconds=self._settings.retry_base)
                )
            return
        async with self._db.uow() as uow:
            row = await uow.session.get(Outbox, row_id)
            attempts = row.attempts if row else 0
            if row is not None and row.kind != OutboxKind.TICKET_CREATED.value and attempts >= MAX_ATTEMPTS:
                # Files or a note that keep failing: give up on them (the ticket itself is delivered).
                await uow.outbox.done(row_id, self._clock())
                await uow.audit.add(
                    "system", "delivery_failed", ticket_id=row.ticket_id, details={"kind": row.kind}
                )
                log.error("outbox row %s (%s) given up after %d attempts", row_id, row.kind, attempts)
                return
            delay = min(self._settings.retry_base * 2**attempts, self._settings.retry_max)
            await uow.outbox.retry_at(row_id, self._clock() + timedelta(seconds=delay))
        log.warning("outbox row %s not delivered (%s); retrying in %.0fs", row_id, type(exc).__name__, delay)

    async def _one(self, uow: UnitOfWork, row: Outbox) -> None:
        ticket = await uow.tickets.get(row.ticket_id)
        if ticket is None:
            return
        kind = OutboxKind(row.kind)
        if kind is OutboxKind.TICKET_CREATED:
            await self._post_card(uow, ticket)
            return
        if ticket.chat is None:
            raise _WaitForCardError("the card is not posted yet")
        chat = await uow.migrations.follow(ticket.chat)
        post = await uow.posts.card(ticket.id, chat)
        reply_to = post.message_id if post else None
        thread = post.thread_id if post else None
        if kind is OutboxKind.FAMILY_MESSAGE:
            await self._family_message(uow, row, ticket.id, chat, card_message=reply_to, thread=thread)
        elif kind is OutboxKind.TICKET_FILES:
            entry = await uow.tickets.entry(int(row.payload["entry"])) if row.payload.get("entry") else None
            raw = entry.attachments if entry is not None else ticket.attachments
            await self._send_files(chat, raw, reply_to, thread)
        elif kind is OutboxKind.TICKET_INFO_ADDED and row.payload.get("story"):
            await self._send(
                uow, chat, whole_story(self._speaker, ticket.id, ticket.description), reply_to, thread=thread
            )
        elif kind is OutboxKind.TICKET_INFO_ADDED and row.payload.get("phone"):
            await self._send(uow, chat, phone_added(self._speaker, ticket.id), reply_to, thread=thread)
            if post is not None:  # the assignee's "show the phone" button appears
                platform, chat_id = parse_person_key(chat)
                await self._messengers[platform].edit(
                    chat_id, post.message_id, card(self._speaker, await card_view(uow, ticket))
                )
        elif kind is OutboxKind.TICKET_INFO_ADDED:
            entry = await uow.tickets.entry(int(row.payload.get("entry", 0)))
            text = entry.text if entry else ""
            files = len(entry.attachments) if entry else 0
            await self._send(
                uow,
                chat,
                info_added(self._speaker, ticket.id, text, files, row.urgent),
                reply_to,
                thread=thread,
            )
        elif kind is OutboxKind.TICKET_WITHDRAWN:
            for copy_chat, message_id in row.payload.get("erase", []):  # a family that erased its data
                platform, chat_id = parse_person_key(copy_chat)
                await self._messengers[platform].delete(chat_id, [message_id])
            await self._send(uow, chat, withdrawn(self._speaker, ticket.id), reply_to, thread=thread)
            if post is not None and ticket.status == TicketStatus.WITHDRAWN.value:
                platform, chat_id = parse_person_key(chat)
                view = await card_view(uow, ticket)
                await self._messengers[platform].edit(chat_id, post.message_id, card(self._speaker, view))
                if thread is not None:
                    await self._messengers[platform].rename_topic(
                        chat_id, thread, topic_name(self._speaker, view)
                    )

    async def _post_card(self, uow: UnitOfWork, ticket: Ticket) -> None:
        """The card in the most specific chat (in its own topic in a forum), files after it."""
        if ticket.chat is not None and await uow.posts.card(ticket.id, ticket.chat) is not None:
            return  # already posted: a repeated row
        chat = await uow.bindings.route(ticket.region_code, ticket.category) or self._settings.default_chat
        if chat is None:
            raise _RetryLaterError("no coordinators' chat takes this ticket")
        chat = await uow.migrations.follow(chat)
        view = await card_view(uow, ticket)
        try:
            thread = await self._open_topic(chat, topic_name(self._speaker, view))
            chat, ids = await self._send(uow, chat, card(self._speaker, view), thread=thread)
        except RecipientUnreachableError:
            # The bot was removed from a bound chat, or may not post there: the default chat takes it.
            fallback = self._settings.default_chat and await uow.migrations.follow(
                self._settings.default_chat
            )
            if not fallback or fallback == chat:
                raise
            log.error("a coordinators' chat refuses the bot; sending the card to the default chat")
            chat, thread = fallback, await self._open_topic(fallback, topic_name(self._speaker, view))
            chat, ids = await self._send(uow, chat, card(self._speaker, view), thread=thread)
        await uow.posts.add(ticket.id, chat, ids[-1], thread)
        await uow.tickets.set_chat(ticket.id, chat)
        await uow.audit.add("system", "card_posted", ticket_id=ticket.id, chat=chat)
        if len(esc(ticket.description)) > CARD_STORY_LIMIT:
            await uow.outbox.add(
                OutboxKind.TICKET_INFO_ADDED, ticket.id, urgent=ticket.urgent, payload={"story": True}
            )
        if ticket.attachments:
            await uow.outbox.add(OutboxKind.TICKET_FILES, ticket.id, urgent=ticket.urgent, payload={})

    async def _family_message(
        self,
        uow: UnitOfWork,
        row: Outbox,
        ticket_id: int,
        chat: str,
        *,
        card_message: int | None,
        thread: int | None,
    ) -> None:
        """The family's own message, copied into the thread (a reply to what they replied to)."""
        family_chat = str(row.payload.get("chat", ""))
        message_id = row.payload.get("message_id")
        target = card_message
        if (reply_to := row.payload.get("reply_to")) is not None:
            mapped = await uow.relay.by_family_message(family_chat, int(reply_to))
            if mapped is not None and mapped.ticket_id == ticket_id:
                target = mapped.group_message_id
        source_platform, source_chat = parse_person_key(family_chat)
        group_platform, group_chat = parse_person_key(chat)
        copied: int | None = None
        if message_id is not None and source_platform is group_platform:
            messenger = self._messengers[group_platform]
            await self._pacer.wait(chat)
            try:
                try:
                    copied = await messenger.copy(
                        source_chat, int(message_id), group_chat, reply_to=target, thread_id=thread
                    )
                except ChatMigratedError as moved:
                    chat, group_chat = await self._follow(uow, chat, moved)
                    copied = await messenger.copy(
                        source_chat, int(message_id), group_chat, reply_to=target, thread_id=thread
                    )
            except MessageGoneError:
                log.info("a relayed message was deleted before it was copied; sending what we kept")
        if copied is None:
            entry = await uow.tickets.entry(int(row.payload.get("entry", 0)))
            text, files = (entry.text, len(entry.attachments)) if entry else ("", 0)
            screen = info_added(self._speaker, ticket_id, text, files, row.urgent)
            chat, ids = await self._send(uow, chat, screen, target, thread=thread)
            copied = ids[-1]
            if entry is not None and entry.attachments and source_platform is not group_platform:
                # A family on another messenger: its files follow as the coordinators' platform can take them.
                await self._send_files(chat, entry.attachments, copied, thread)
        if message_id is not None:
            await uow.relay.add(ticket_id, "in", (chat, copied), (family_chat, int(message_id)))

    async def _open_topic(self, chat: str, name: str) -> int | None:
        """In a forum each ticket gets its own topic; a plain group's card is the thread."""
        if chat in self._plain_chats:
            return None
        platform, chat_id = parse_person_key(chat)
        messenger = self._messengers.get(platform)
        if messenger is None:
            return None
        try:
            thread = await messenger.open_topic(chat_id, name)
        except DeliveryFailedError:
            log.warning("could not open a forum topic (missing rights?); the card goes to the general topic")
            return None
        if thread is None:
            self._plain_chats.add(chat)
        return thread

    async def _send_files(
        self, chat: str, raw: Sequence[Any], reply_to: int | None, thread: int | None
    ) -> None:
        """Files kept by reference (as stored with the ticket), paced like every message to a chat."""
        platform, chat_id = parse_person_key(chat)
        await self._pacer.wait(chat)
        await self._messengers[platform].send_files(
            chat_id, [Attachment.model_validate(a) for a in raw], reply_to=reply_to, thread_id=thread
        )

    async def _send(
        self,
        uow: UnitOfWork,
        chat: str,
        screen: Screen,
        reply_to: int | None = None,
        *,
        thread: int | None = None,
    ) -> tuple[str, list[int]]:
        """Send to a chat, following it once if it became a supergroup; return the chat used and the ids."""
        platform, chat_id = parse_person_key(chat)
        messenger = self._messengers.get(platform)
        if messenger is None:
            raise _RetryLaterError(f"no {platform.value} transport")
        await self._pacer.wait(chat)
        try:
            return chat, await messenger.send(chat_id, screen, reply_to=reply_to, thread_id=thread)
        except ChatMigratedError as moved:
            new_chat, new_id = await self._follow(uow, chat, moved)
            await self._pacer.wait(new_chat)
            return new_chat, await messenger.send(new_id, screen, reply_to=reply_to, thread_id=thread)

    async def _follow(self, uow: UnitOfWork, chat: str, moved: ChatMigratedError) -> tuple[str, int]:
        """A group became a supergroup: remember it (tickets, cards and the default chat follow)."""
        platform, _old_id = parse_person_key(chat)
        new_chat = person_key(platform, moved.new_chat_id)
        log.info("a coordinators' chat became a supergroup; following it")
        for ticket_id in await uow.migrations.record(chat, new_chat):
            await uow.outbox.add(
                OutboxKind.TICKET_CREATED, ticket_id, urgent=False, payload={"migrated": True}
            )
        await uow.audit.add("system", "chat_migrated", chat=new_chat, details={"from": chat})
        return new_chat, moved.new_chat_id
