"""Admins bind coordinators' chats to regions and categories: /bind, /unbind, /bindings in a group."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from dialogs import admin
from dialogs.cards import Speaker
from dialogs.directory import Directory
from dialogs.i18n import N_, Translators
from dialogs.primitives import Screen
from dialogs.validate import as_int
from handlers.admins import AdminRoster
from handlers.desk_common import ActionReply, CoordinatorAction, send_quietly
from handlers.ports import ChatRights, DeliveryFailedError, Messenger, RecipientUnreachableError
from storage.models import utcnow
from storage.uow import Database
from storage.vocabulary import Category, ChatRef, Platform, person_key

log = logging.getLogger(__name__)
COMMANDS = ("bind", "unbind", "bindings")


@dataclass(frozen=True)
class GroupCommand:
    platform: Platform
    chat_id: int
    user_id: int
    command: str
    message_id: int


class BindingDesk:
    def __init__(
        self,
        db: Database,
        *,
        messengers: Mapping[Platform, Messenger],
        translators: Translators,
        chat_locale: str,
        directory: Directory,
        admins: Collection[str],
        default_chat: str | None,
    ) -> None:
        self._db = db
        self._messengers = messengers
        self._speaker = Speaker(translators[chat_locale], chat_locale, directory)
        self._directory = directory
        self._admins: Collection[str] = admins if isinstance(admins, AdminRoster) else frozenset(admins)
        self._default_chat = default_chat

    def _(self, message: str) -> str:
        return self._speaker._(message)

    async def command(self, cmd: GroupCommand) -> None:
        chat = person_key(cmd.platform, cmd.chat_id)
        if cmd.command == "bindings":
            screen = await self._list(chat, removable=False)
            if not (await self._rights(cmd.platform, cmd.chat_id)).is_admin:
                # Said where coordinators look: without admin rights the bot misses their replies.
                screen = Screen(text=f"{screen.text}\n{self._(admin.NOT_ADMIN)}", buttons=screen.buttons)
        elif person_key(cmd.platform, cmd.user_id) not in self._admins:
            screen = Screen(text=self._(N_("Only admins can change which requests come to this chat.")))
        elif cmd.command == "bind":
            screen = admin.choose_category(self._speaker)
        else:
            screen = await self._list(chat, removable=True)
        await send_quietly(self._messengers, chat, screen, reply_to=cmd.message_id)

    async def member(self, chat: ChatRef, user_id: int, *, left: bool) -> None:
        """Someone left (or was removed from) a coordinators' chat, or came back: recorded, so that a
        request reopened by its family goes to the group, and the day-long nudge to the group, instead
        of to a coordinator who is gone."""
        key, member = chat.key, person_key(chat.platform, user_id)
        async with self._db.uow() as uow:
            if left:
                if await uow.members.left(key, member, utcnow()):
                    await uow.audit.add(member, "member_left", chat=key)
            elif await uow.members.returned(key, member):
                await uow.audit.add(member, "member_returned", chat=key)

    async def press(self, action: CoordinatorAction) -> ActionReply:
        if action.actor not in self._admins:
            return ActionReply(self._(N_("Only admins can change which requests come to this chat.")))
        pressed = admin.BindAction.unpack(action.payload) or admin.BindAction(kind="")
        kind = pressed.kind
        screen: Screen | None = None
        if kind == "c" and (category := self._category(pressed.first)) is not None:
            screen = admin.choose_region(self._speaker, self._directory, category, 0)
        elif kind == "p":
            if (category := self._category(pressed.first)) is not None and (
                number := as_int(pressed.second)
            ) is not None:
                screen = admin.choose_region(self._speaker, self._directory, category, number)
        elif kind == "r":
            category = self._category(pressed.first)
            region = None if pressed.second == admin.ANY else pressed.second
            if category is not None and (region is None or self._directory.region(region) is not None):
                screen = await self._bind(action, None if category == admin.ANY else category, region)
        elif kind == "u" and (binding_id := as_int(pressed.first)) is not None:
            async with self._db.uow() as uow:
                if await uow.bindings.remove(binding_id, action.chat):
                    await uow.audit.add(
                        action.actor, "unbind", chat=action.chat, details={"binding": binding_id}
                    )
            screen = await self._list(action.chat, removable=True)
        if screen is None:
            return ActionReply(self._(N_("This button is out of date.")))
        messenger = self._messengers.get(action.platform)
        if messenger is not None and action.message_id is not None:
            await messenger.edit(action.chat_id, action.message_id, screen)
        return ActionReply()

    def _category(self, raw: str) -> str | None:
        if raw == admin.ANY:
            return raw
        try:
            return Category(raw).value
        except ValueError:
            return None

    async def _bind(self, action: CoordinatorAction, category: str | None, region: str | None) -> Screen:
        async with self._db.uow() as uow:
            await uow.bindings.add(action.chat, region, category, action.actor)
            await uow.audit.add(
                action.actor, "bind", chat=action.chat, details={"category": category, "region": region}
            )
        rights = await self._rights(action.platform, action.chat_id)
        scope = admin.scope_text(self._speaker, self._directory, category, region)
        return admin.bound(self._speaker, scope, rights.is_admin)

    async def _rights(self, platform: Platform, chat_id: int) -> ChatRights:
        messenger = self._messengers.get(platform)
        if messenger is None:
            return ChatRights(can_post=False, is_admin=False)
        try:
            return await messenger.rights(chat_id)
        except (DeliveryFailedError, RecipientUnreachableError):
            return ChatRights(can_post=False, is_admin=False)

    async def _list(self, chat: str, *, removable: bool) -> Screen:
        async with self._db.uow() as uow:
            bindings = await uow.bindings.of_chat(chat)
            default = self._default_chat and await uow.migrations.follow(self._default_chat)
        scopes = [
            (b.id, admin.scope_text(self._speaker, self._directory, b.category, b.region_code))
            for b in bindings
        ]
        return admin.bindings_list(self._speaker, chat, scopes, default == chat, removable)
