"""What each outbox row asks to send, in three steps that never overlap a send with a transaction.

``Planner.plan`` reads what it needs in the caller's (short) transaction and returns a ``Send``: plain
values captured, no database object kept. The ``Send`` runs with no transaction open and returns a
``Record``, which the worker runs in a new short transaction to remember what was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, assert_never

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
from dialogs.primitives import Screen
from dialogs.texts import esc
from handlers.delivery_sender import ChatSender, RetryLaterError, WaitForCardError
from handlers.desk_common import card_view
from handlers.pacer import Priority
from handlers.ports import MessageGoneError, RecipientUnreachableError
from storage.models import Outbox, Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import ChatRef, OutboxKind, TicketStatus

log = logging.getLogger(__name__)

Record = Callable[[UnitOfWork], Awaitable[None]]
Send = Callable[[], Awaitable[Record | None]]


class Planner:
    def __init__(self, sender: ChatSender, speaker: Speaker, default_chat: str | None) -> None:
        self._sender = sender
        self._speaker = speaker
        self._default_chat = default_chat

    async def plan(self, uow: UnitOfWork, row: Outbox) -> Send | None:
        """None: nothing to send (the ticket is gone, the card is out already)."""
        kind = OutboxKind(row.kind)
        if kind is OutboxKind.MESSAGE:
            return await self._message(uow, row)
        ticket = await uow.tickets.get(row.ticket_id) if row.ticket_id is not None else None
        if ticket is None:
            if row.ticket_id is None:
                log.warning("outbox row %s (%s) names no ticket; skipped", row.id, row.kind)
            return None
        if kind is OutboxKind.TICKET_CREATED:
            return await self._card(uow, ticket)
        if ticket.chat is None:
            raise WaitForCardError("the card is not posted yet")
        chat = await uow.migrations.follow(ticket.chat)
        post = await uow.posts.card(ticket.id, chat)
        card_id, thread = (post.message_id, post.thread_id) if post is not None else (None, None)
        sender, s = self._sender, self._speaker
        if kind is OutboxKind.FAMILY_MESSAGE:
            return await self._family_message(uow, row, ticket.id, chat=chat, card_id=card_id, thread=thread)
        if kind is OutboxKind.TICKET_FILES:
            entry = await uow.tickets.entry(int(row.payload["entry"])) if row.payload.get("entry") else None
            raw = list(entry.attachments if entry is not None else ticket.attachments)
            return _just(lambda: sender.send_files(chat, raw, card_id, thread))
        if kind is OutboxKind.TICKET_INFO_ADDED:
            return await self._info_added(uow, row, ticket, chat=chat, card_id=card_id, thread=thread)
        if kind is OutboxKind.TICKET_WITHDRAWN:
            erase = [(str(c), int(m)) for c, m in row.payload.get("erase", [])]
            notice = withdrawn(s, ticket.id)
            renewed: tuple[Screen, str] | None = None
            if card_id is not None and ticket.status == TicketStatus.WITHDRAWN.value:
                view = await card_view(uow, ticket)
                renewed = card(s, view), topic_name(s, view)

            async def withdraw() -> None:
                for copy_chat, message_id in erase:  # a family that erased its data
                    await sender.delete(copy_chat, [message_id])
                await sender.send(chat, notice, card_id, thread=thread)
                if card_id is not None and renewed is not None:
                    await sender.edit(chat, card_id, renewed[0])
                    if thread is not None:
                        await sender.rename_topic(chat, thread, renewed[1])

            return _just(withdraw)
        assert_never(kind)

    async def _message(self, uow: UnitOfWork, row: Outbox) -> Send | None:
        """A message about no ticket: its text to its chat, at its priority."""
        try:
            chat = ChatRef.parse(str(row.payload["chat"])).key
            screen = Screen(text=str(row.payload["text"]))
            priority = Priority(int(row.payload.get("priority", Priority.SCHEDULED)))
        except (KeyError, ValueError):
            log.error("outbox row %s is a message without a valid chat or text; skipped", row.id)
            return None
        chat = await uow.migrations.follow(chat)
        sender = self._sender
        return _just(lambda: sender.send(chat, screen, priority=priority))

    async def _card(self, uow: UnitOfWork, ticket: Ticket) -> Send | None:
        """The card in the most specific chat (in its own topic in a forum), files after it."""
        if ticket.chat is not None and await uow.posts.card(ticket.id, ticket.chat) is not None:
            return None  # already posted: a repeated row
        chat = await uow.bindings.route(ticket.region_code, ticket.category) or self._default_chat
        if chat is None:
            raise RetryLaterError("no coordinators' chat takes this ticket")
        chat = await uow.migrations.follow(chat)
        fallback = await uow.migrations.follow(self._default_chat) if self._default_chat else None
        view = await card_view(uow, ticket)
        screen, name = card(self._speaker, view), topic_name(self._speaker, view)
        ticket_id, urgent = ticket.id, ticket.urgent
        long_story = len(esc(ticket.description)) > CARD_STORY_LIMIT
        has_files = bool(ticket.attachments)
        sender = self._sender

        async def post() -> Record:
            try:
                thread = await sender.open_topic(chat, name)
                used, ids = await sender.send(chat, screen, thread=thread)
            except RecipientUnreachableError:
                # The bot was removed from a bound chat, or may not post there: the default chat takes it.
                if not fallback or fallback == chat:
                    raise
                log.error("a coordinators' chat refuses the bot; sending the card to the default chat")
                thread = await sender.open_topic(fallback, name)
                used, ids = await sender.send(fallback, screen, thread=thread)

            async def record(uow: UnitOfWork) -> None:
                if await uow.posts.card(ticket_id, used) is not None:
                    # Another worker posted it while this one's lease ran out: theirs is the card.
                    log.warning("the card of a ticket was posted twice; the second one is not used")
                    return
                await uow.posts.add(ticket_id, used, ids[-1], thread)
                await uow.tickets.set_chat(ticket_id, used)
                await uow.audit.add("system", "card_posted", ticket_id=ticket_id, chat=used)
                if long_story:
                    await uow.outbox.add(
                        OutboxKind.TICKET_INFO_ADDED, ticket_id, urgent=urgent, payload={"story": True}
                    )
                if has_files:
                    await uow.outbox.add(OutboxKind.TICKET_FILES, ticket_id, urgent=urgent, payload={})

            return record

        return post

    async def _info_added(
        self,
        uow: UnitOfWork,
        row: Outbox,
        ticket: Ticket,
        *,
        chat: str,
        card_id: int | None,
        thread: int | None,
    ) -> Send:
        sender, s = self._sender, self._speaker
        if row.payload.get("story"):
            story = whole_story(s, ticket.id, ticket.description)
            return _just(lambda: sender.send(chat, story, card_id, thread=thread))
        if row.payload.get("phone"):
            notice = phone_added(s, ticket.id)
            renewed = card(s, await card_view(uow, ticket)) if card_id is not None else None

            async def phone() -> None:
                await sender.send(chat, notice, card_id, thread=thread)
                if card_id is not None and renewed is not None:  # the assignee's "show the phone" button
                    await sender.edit(chat, card_id, renewed)

            return _just(phone)
        entry = await uow.tickets.entry(int(row.payload.get("entry", 0)))
        text, files = (entry.text, len(entry.attachments)) if entry else ("", 0)
        screen = info_added(s, ticket.id, text, files, row.urgent)
        return _just(lambda: sender.send(chat, screen, card_id, thread=thread))

    async def _family_message(
        self,
        uow: UnitOfWork,
        row: Outbox,
        ticket_id: int,
        *,
        chat: str,
        card_id: int | None,
        thread: int | None,
    ) -> Send:
        """The family's own message, copied into the thread (a reply to what they replied to)."""
        family_chat = str(row.payload.get("chat", ""))
        raw_id = row.payload.get("message_id")
        message_id = int(raw_id) if raw_id is not None else None
        target = card_id
        if (reply_to := row.payload.get("reply_to")) is not None:
            mapped = await uow.relay.by_family_message(family_chat, int(reply_to))
            if mapped is not None and mapped.ticket_id == ticket_id:
                target = mapped.group_message_id
        same_platform = ChatRef.parse(family_chat).platform is ChatRef.parse(chat).platform
        entry = await uow.tickets.entry(int(row.payload.get("entry", 0)))
        text, files = (entry.text, list(entry.attachments)) if entry else ("", [])
        screen = info_added(self._speaker, ticket_id, text, len(files), row.urgent)
        sender = self._sender

        async def relay() -> Record | None:
            used, copied = chat, None
            if message_id is not None and same_platform:
                try:
                    used, copied = await sender.copy(
                        family_chat, message_id, chat, reply_to=target, thread=thread
                    )
                except MessageGoneError:
                    log.info("a relayed message was deleted before it was copied; sending what we kept")
            if copied is None:
                used, ids = await sender.send(used, screen, target, thread=thread)
                copied = ids[-1]
                if files and not same_platform:
                    # A family on another messenger: its files follow as the coordinators' platform can take them.
                    await sender.send_files(used, files, copied, thread)
            if message_id is None:
                return None
            group_message = copied

            async def record(uow: UnitOfWork) -> None:
                await uow.relay.add(ticket_id, "in", (used, group_message), (family_chat, message_id))

            return record

        return relay


def _just(send: Callable[[], Awaitable[Any]]) -> Send:
    """A send that leaves nothing to record."""

    async def run() -> Record | None:
        await send()
        return None

    return run
