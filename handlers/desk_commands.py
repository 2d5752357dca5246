"""Coordinators' commands in their chat: /open and /mine (the inbox), /away and /back, /unblock <n>.

Each answers in the chat, as a reply to the command. The inbox's pages are edited in place by their
buttons; a "📍 #n" button (where the platform has no message links) makes the bot reply to the card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dialogs.cards import Speaker
from dialogs.i18n import N_
from dialogs.inbox import PAGE_SIZE, InboxAction, InboxLine, inbox_page, jump, page_count
from dialogs.primitives import Screen
from dialogs.validate import as_int
from handlers import blocking
from handlers.desk_common import ActionReply, CoordinatorAction, InChat, Outbound, send_quietly
from handlers.tickets import TicketDesk
from storage.models import Ticket
from storage.uow import UnitOfWork
from storage.vocabulary import Category, ChatKind, ChatRef, Platform, TicketStatus, person_key

log = logging.getLogger(__name__)
COMMANDS = ("open", "mine", "away", "back", "unblock")


@dataclass(frozen=True)
class DeskCommand(InChat):
    command: str
    text: str
    message_id: int | None = None
    thread_id: int | None = None


def card_link(chat: ChatRef, message_id: int, thread_id: int | None) -> str | None:
    """A link to a card (or its forum topic) where the platform has one: Telegram supergroups
    (t.me/c/<id>/<message>). Basic Telegram groups, VK conversations and MAX chats have none."""
    if chat.platform is not Platform.TELEGRAM or not str(chat.id).startswith("-100"):
        return None
    return f"https://t.me/c/{str(chat.id)[4:]}/{thread_id or message_id}"


class DeskCommands:
    def __init__(self, desk: TicketDesk) -> None:
        self._desk = desk

    @property
    def _s(self) -> Speaker:
        return self._desk.speaker

    async def command(self, cmd: DeskCommand) -> None:
        async with self._desk.in_flight.track():
            screen = await self._command(cmd)
        await send_quietly(
            self._desk.messengers,
            cmd.chat,
            screen,
            reply_to=cmd.message_id,
            thread_id=cmd.thread_id,
            pacer=self._desk.pacer,
        )

    async def _command(self, cmd: DeskCommand) -> Screen:
        s = self._s
        if cmd.command in {"open", "mine"}:
            mine = cmd.command == "mine"
            return await self._page(cmd.platform, cmd.chat_id, page=0, owner=cmd.user_id if mine else 0)
        if cmd.command == "unblock":
            return await self._unblock(cmd)
        async with self._desk.db.uow() as uow:
            if cmd.command == "away":
                await uow.moderation.away(cmd.actor, self._desk.now())
                await uow.audit.add(cmd.actor, "away", chat=cmd.chat, actor_name=cmd.user_name)
                text = N_(
                    "🌙 You are marked away. Reminders about requests waiting for you go to this chat "
                    "and the admins until you send /back."
                )
            else:
                await uow.moderation.back(cmd.actor)
                await uow.audit.add(cmd.actor, "back", chat=cmd.chat, actor_name=cmd.user_name)
                text = N_("👋 Welcome back: reminders about your requests come to you again.")
        return Screen(text=s._(text))

    async def _unblock(self, cmd: DeskCommand) -> Screen:
        s = self._s
        number = as_int(cmd.text.split(maxsplit=1)[1]) if len(cmd.text.split()) > 1 else None
        if number is None:
            return Screen(text=s._(N_("Write the request's number: /unblock 12")))
        out = Outbound()
        async with self._desk.db.uow() as uow:
            ticket = await uow.tickets.get(number)
            if ticket is None or (ticket.chat != cmd.chat and cmd.actor not in self._desk.admins):
                return Screen(text=s._(N_("There is no request #{n} in this chat.")).format(n=number))
            reply = await blocking.unblock(
                self._desk, uow, ticket, actor=cmd.actor, actor_name=cmd.user_name, chat=cmd.chat, out=out
            )
        await self._desk.carry_out(out)
        return Screen(text=reply.text or "")

    async def press(self, action: CoordinatorAction) -> ActionReply:
        pressed = InboxAction.unpack(action.payload)
        if pressed is None or pressed.action not in {"open", "mine", "go"}:
            return ActionReply(self._s._(N_("This button is out of date.")))
        async with self._desk.in_flight.track():
            if pressed.action == "go":
                return await self._jump(action, pressed.arg)
            screen = await self._page(action.platform, action.chat_id, page=pressed.arg, owner=pressed.owner)
            if action.message_id is not None:
                messenger = self._desk.messengers.get(action.platform)
                if messenger is not None:
                    await messenger.edit(action.chat_id, action.message_id, screen)
        return ActionReply()

    async def _jump(self, action: CoordinatorAction, ticket_id: int) -> ActionReply:
        async with self._desk.db.uow() as uow:
            ticket = await uow.tickets.get(ticket_id)
            post = await uow.posts.card(ticket_id, action.chat) if ticket is not None else None
        if ticket is None or ticket.chat != action.chat or post is None:
            return ActionReply(self._s._(N_("This request is not in this chat any more.")))
        await send_quietly(
            self._desk.messengers,
            action.chat,
            jump(self._s, ticket_id),
            reply_to=post.message_id,
            thread_id=post.thread_id,
            pacer=self._desk.pacer,
        )
        return ActionReply()

    async def _page(self, platform: Platform, chat_id: int, *, page: int, owner: int) -> Screen:
        chat = person_key(platform, chat_id)
        ref = ChatRef(platform, chat_id, ChatKind.GROUP)
        async with self._desk.db.uow() as uow:
            tickets = await uow.moderation.open_in_chat(chat, person_key(platform, owner) if owner else None)
            page = min(max(0, page), page_count(len(tickets)) - 1)
            shown = tickets[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
            items = [await self._line(uow, ref, ticket) for ticket in shown]
        return inbox_page(
            self._s, items, total=len(tickets), page=page, now=self._desk.now(), mine=bool(owner), owner=owner
        )

    async def _line(self, uow: UnitOfWork, ref: ChatRef, ticket: Ticket) -> InboxLine:
        post = await uow.posts.card(ticket.id, ticket.chat or "")
        known = self._desk.directory.region(ticket.region_code) if ticket.region_code else None
        return InboxLine(
            id=ticket.id,
            category=Category(ticket.category),
            region=known.name(self._s.locale) if known is not None else ticket.region,
            urgent=ticket.urgent,
            status=TicketStatus(ticket.status),
            created_at=ticket.created_at,
            assignee_name=ticket.assignee_name,
            link=card_link(ref, post.message_id, post.thread_id) if post is not None else None,
        )
