"""One router for every platform: a translated update in, the role's use-case decided here, once.

A transport only translates a platform update into an ``Inbound`` (who, which chat, what was said
or pressed). Whether it is a family's private chat, an admin's private chat or a coordinators'
chat, and which use-case takes it, is decided here, so no routing rule is written per platform.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from dialogs.admin import BIND_STEP
from dialogs.cards import CARD_STEP
from dialogs.inbox import INBOX_STEP
from dialogs.primitives import Event, EventKind, Incoming, Role
from handlers.admins import AdminRoster
from handlers.bindings import COMMANDS as BINDING_COMMANDS
from handlers.bindings import BindingDesk, GroupCommand
from handlers.conversation import ConversationService
from handlers.desk_commands import COMMANDS as DESK_COMMANDS
from handlers.desk_commands import DeskCommand, DeskCommands
from handlers.desk_common import CoordinatorAction
from handlers.locks import in_turn
from handlers.relay import GroupMessage, ThreadRelay
from handlers.tickets import TicketDesk
from storage.vocabulary import ChatRef, Platform, person_key

MEMBERSHIP = frozenset({EventKind.MEMBER_LEFT, EventKind.MEMBER_JOINED})


@dataclass(frozen=True)
class Inbound:
    """One platform update in neutral terms."""

    chat: ChatRef
    user_id: int
    event: Event
    user_name: str = ""
    update_id: int | None = None
    message_id: int | None = None  # the person's own message, or the message whose button was pressed
    language_code: str | None = None
    reply_to: int | None = None  # the message replied to
    reply_to_bot: bool = False  # the replied message is the bot's own
    thread_id: int | None = None  # a forum topic
    own_message: bool = False  # ``message_id`` is the person's own message even for a button (VK)
    text: str = ""  # the text or caption as written (a group keeps "/note ..." as it is)
    has_media: bool = False  # a photo, file, voice...: ``text`` is its caption


@dataclass(frozen=True)
class Answer:
    """What the transport shows the one who pressed a button (a toast, or an alert only they see)."""

    text: str | None = None
    alert: bool = False
    duplicate: bool = False


class InboundRouter:
    def __init__(
        self,
        *,
        conversation: ConversationService,
        desk: TicketDesk,
        relay: ThreadRelay,
        bindings: BindingDesk,
        admins: Collection[str],
        desk_platforms: Collection[Platform],
        commands: DeskCommands | None = None,
    ) -> None:
        self.conversation = conversation
        self._desk = desk
        self._relay = relay
        self._bindings = bindings
        self._commands = commands  # /open, /mine, /away, /back, /unblock (None: not offered)
        # The roster is refreshed at each update (stored admins); a plain list is fixed (tests).
        self._admins = admins if isinstance(admins, AdminRoster) else AdminRoster(admins)
        # Platforms whose group chats are coordinators' chats (elsewhere a group is not ours).
        self._desk_platforms = frozenset(desk_platforms)

    def role(self, platform: Platform, user_id: int) -> Role:
        return Role.ADMIN if person_key(platform, user_id) in self._admins else Role.FAMILY

    async def route(self, inbound: Inbound) -> Answer:
        await self._admins.refresh()  # every role decided below sees the admins added with /admins
        if inbound.event.kind in MEMBERSHIP:
            if not inbound.chat.is_private and inbound.chat.platform in self._desk_platforms:
                left = inbound.event.kind is EventKind.MEMBER_LEFT
                await self._bindings.member(inbound.chat, inbound.user_id, left=left)
            return Answer()
        if inbound.chat.is_private:
            return await self._private(inbound)
        if inbound.chat.platform not in self._desk_platforms:
            return Answer()
        return await self._group(inbound)

    def hurry(self, person: str) -> None:
        """An SOS of ``person`` ("vk:123") came while a turn of theirs is in hand: hurry that turn."""
        self.conversation.hurry(person)

    async def membership(self, platform: Platform, user_id: int, *, reachable: bool) -> None:
        """A person blocked (or unblocked) the bot in their private chat."""
        await self.conversation.set_reachable(platform, user_id, reachable)

    async def migrated(self, chat: ChatRef, new_chat_id: int) -> None:
        """A group chat moved (a Telegram group became a supergroup)."""
        if chat.platform in self._desk_platforms:
            await self._relay.migrated(chat.platform, chat.id, new_chat_id)

    async def _private(self, inbound: Inbound) -> Answer:
        # The person's earlier updates first; nothing is awaited from here to the flood gate and lock.
        await in_turn(person_key(inbound.chat.platform, inbound.user_id))
        reply = await self.conversation.handle(
            Incoming(
                platform=inbound.chat.platform,
                user_id=inbound.user_id,
                chat_id=inbound.chat.id,
                event=inbound.event,
                update_id=inbound.update_id,
                message_id=inbound.message_id,
                language_code=inbound.language_code,
                reply_to=inbound.reply_to,
                own_message=inbound.own_message,
                role=self.role(inbound.chat.platform, inbound.user_id),
            )
        )
        return Answer(text=reply.toast, duplicate=reply.duplicate)

    async def _group(self, inbound: Inbound) -> Answer:
        event, chat = inbound.event, inbound.chat
        if event.kind is EventKind.BUTTON:
            payload = event.payload
            if payload is None or payload.step not in (CARD_STEP, BIND_STEP, INBOX_STEP):
                return Answer()  # a family's button pressed outside its private chat: nothing to do
            action = CoordinatorAction(
                platform=chat.platform,
                chat_id=chat.id,
                user_id=inbound.user_id,
                user_name=inbound.user_name,
                payload=payload,
                update_id=inbound.update_id if payload.step == CARD_STEP else None,
                message_id=inbound.message_id,
            )
            if payload.step == INBOX_STEP:
                if self._commands is None:
                    return Answer()
                reply = await self._commands.press(action)
            else:
                press = self._desk.press if payload.step == CARD_STEP else self._bindings.press
                reply = await press(action)
            return Answer(text=reply.text, alert=reply.alert)
        if event.kind is EventKind.COMMAND and event.command in BINDING_COMMANDS:
            await self._bindings.command(
                GroupCommand(
                    platform=chat.platform,
                    chat_id=chat.id,
                    user_id=inbound.user_id,
                    command=event.command,
                    message_id=inbound.message_id or 0,
                )
            )
            return Answer()
        if event.kind is EventKind.COMMAND and event.command in DESK_COMMANDS and self._commands is not None:
            await self._commands.command(
                DeskCommand(
                    platform=chat.platform,
                    chat_id=chat.id,
                    user_id=inbound.user_id,
                    user_name=inbound.user_name,
                    command=event.command,
                    text=inbound.text or event.text,
                    message_id=inbound.message_id,
                    thread_id=inbound.thread_id,
                )
            )
            return Answer()
        if inbound.message_id is None:
            return Answer()
        await self._relay.handle(
            GroupMessage(
                platform=chat.platform,
                chat_id=chat.id,
                user_id=inbound.user_id,
                user_name=inbound.user_name,
                message_id=inbound.message_id,
                reply_to=inbound.reply_to,
                text=inbound.text,
                has_media=inbound.has_media,
                files=(event.attachment,) if event.attachment is not None else (),
                update_id=inbound.update_id,
                thread_id=inbound.thread_id,
                reply_to_bot=inbound.reply_to_bot,
            )
        )
        return Answer()
