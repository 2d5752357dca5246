"""Paced sends for the delivery worker, outside any transaction, following a chat that moved."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from dialogs.primitives import Screen
from dialogs.state import Attachment
from handlers.desk_common import follow_chat_move
from handlers.pacer import Pacer, Priority
from handlers.ports import ChatMigratedError, DeliveryFailedError, FileRefusedError, Messenger
from storage.uow import Database
from storage.vocabulary import ChatRef, Platform

log = logging.getLogger(__name__)


class RetryLaterError(Exception):
    """Deliver this row later (no chat yet, platform down, ...)."""


class WaitForCardError(RetryLaterError):
    """The ticket's card is not posted yet: wait for it without counting an attempt (keeps the order)."""


class ChatSender:
    """Each message waits for the pacer; a group that became a supergroup is followed once."""

    def __init__(self, db: Database, messengers: Mapping[Platform, Messenger], pacer: Pacer) -> None:
        self._db = db
        self._messengers = messengers
        self._pacer = pacer
        self._plain_chats: set[str] = set()  # chats known not to be forums

    def _target(self, chat: str) -> tuple[ChatRef, Messenger]:
        ref = ChatRef.parse(chat)
        messenger = self._messengers.get(ref.platform)
        if messenger is None:
            raise RetryLaterError(f"no {ref.platform.value} transport")
        return ref, messenger

    async def send(
        self,
        chat: str,
        screen: Screen,
        reply_to: int | None = None,
        *,
        thread: int | None = None,
        priority: Priority = Priority.DESK,
    ) -> tuple[str, list[int]]:
        """Send to a chat; return the chat used (it may have moved) and the new message ids."""
        ref, messenger = self._target(chat)
        await self._pacer.wait(ref, priority)
        try:
            return chat, await messenger.send(ref.id, screen, reply_to=reply_to, thread_id=thread)
        except ChatMigratedError as moved:
            ref = await self._moved(ref, moved)
            await self._pacer.wait(ref, priority)
            return ref.key, await messenger.send(ref.id, screen, reply_to=reply_to, thread_id=thread)

    async def copy(
        self, from_chat: str, message_id: int, chat: str, *, reply_to: int | None, thread: int | None
    ) -> tuple[str, int]:
        """Copy a family's message as it is; return the chat used and the copy's id."""
        source = ChatRef.parse(from_chat)
        ref, messenger = self._target(chat)
        await self._pacer.wait(ref, Priority.DESK)
        try:
            copied = await messenger.copy(source.id, message_id, ref.id, reply_to=reply_to, thread_id=thread)
        except ChatMigratedError as moved:
            ref = await self._moved(ref, moved)
            await self._pacer.wait(ref, Priority.DESK)
            copied = await messenger.copy(source.id, message_id, ref.id, reply_to=reply_to, thread_id=thread)
        return ref.key, copied

    async def send_files(
        self, chat: str, raw: Sequence[Any], reply_to: int | None, thread: int | None
    ) -> None:
        """Files kept by reference (as stored with the ticket), paced like every message to a chat."""
        ref, messenger = self._target(chat)
        files = [Attachment.model_validate(a) for a in raw]
        # A file of another messenger without a public link (Telegram's) is fetched from its own
        # messenger and uploaded anew; the others go by reference or by their link.
        unlinked = [f for f in files if f.url is None and _platform_of(f) not in (None, ref.platform)]
        await self._pacer.wait(ref, Priority.DESK)
        await messenger.send_files(
            ref.id, [f for f in files if f not in unlinked], reply_to=reply_to, thread_id=thread
        )
        fetched = []
        for file in unlinked:
            source = self._messengers.get(_platform_of(file) or ref.platform)
            try:
                data = await source.fetch_file(file) if source is not None else None
            except FileRefusedError:
                log.info("a family's file is too big to pass to %s", ref.platform.value)
                data = None
            if data is not None:
                fetched.append(data)
        if fetched:
            await self._pacer.wait(ref, Priority.DESK)
            try:
                await messenger.upload_files(ref.id, fetched, reply_to=reply_to)
            except FileRefusedError:
                log.info("%s refused a family's file", ref.platform.value)

    async def open_topic(self, chat: str, name: str) -> int | None:
        """In a forum each ticket gets its own topic; a plain group's card is the thread."""
        if chat in self._plain_chats:
            return None
        ref = ChatRef.parse(chat)
        messenger = self._messengers.get(ref.platform)
        if messenger is None:
            return None
        try:
            thread = await messenger.open_topic(ref.id, name)
        except DeliveryFailedError:
            log.warning("could not open a forum topic (missing rights?); the card goes to the general topic")
            return None
        if thread is None:
            self._plain_chats.add(chat)
        return thread

    async def edit(self, chat: str, message_id: int, screen: Screen) -> None:
        ref, messenger = self._target(chat)
        await messenger.edit(ref.id, message_id, screen)

    async def rename_topic(self, chat: str, thread: int, name: str) -> None:
        ref, messenger = self._target(chat)
        await messenger.rename_topic(ref.id, thread, name)

    async def delete(self, chat: str, message_ids: Sequence[int]) -> None:
        ref, messenger = self._target(chat)
        await messenger.delete(ref.id, message_ids)

    async def _moved(self, ref: ChatRef, moved: ChatMigratedError) -> ChatRef:
        """Record the move in its own short transaction, then send on to the new chat."""
        new = ChatRef.of(ref.platform, moved.new_chat_id)
        log.info("a coordinators' chat became a supergroup; following it")
        async with self._db.uow() as uow:
            await follow_chat_move(uow, ref.key, new.key)
        return new


def _platform_of(file: Attachment) -> Platform | None:
    """The messenger that keeps a file, from its reference ("tg:...", "vk:...")."""
    prefix = file.ref.split(":", 1)[0]
    return next((p for p in Platform if p.value == prefix), None)
