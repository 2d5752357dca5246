"""The Messenger port for Telegram: sends with retries, honours 429, reports blocked users."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar, cast

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    ReplyParameters,
)

from bot.telegram import files as tg_files
from bot.telegram.methods import EditText, SendText, SentText
from bot.telegram.render import inline_markup, render
from bot.text import html_to_plain
from dialogs.primitives import Screen, Traits
from dialogs.state import Attachment
from handlers.ports import (
    ChatMigratedError,
    ChatRights,
    DeliveryFailedError,
    FileData,
    MessageGoneError,
    RecipientUnreachableError,
)
from storage.vocabulary import AttachmentKind, Platform

log = logging.getLogger(__name__)
T = TypeVar("T")

ALBUM_TYPES: dict[AttachmentKind, type[InputMediaPhoto | InputMediaVideo | InputMediaDocument]] = {
    AttachmentKind.PHOTO: InputMediaPhoto,
    AttachmentKind.VIDEO: InputMediaVideo,
    AttachmentKind.DOCUMENT: InputMediaDocument,
}
SINGLE_SENDERS = {
    AttachmentKind.VOICE: "send_voice",
    AttachmentKind.AUDIO: "send_audio",
    AttachmentKind.VIDEO_NOTE: "send_video_note",
}
CAPTION_LIMIT = 1024  # characters of a photo's or a document's caption, as shown
MAX_ATTEMPTS = 5
MAX_RETRY_AFTER = 60.0  # longer waits are left to the outbox worker, not to a person waiting for a reply
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids


class TelegramMessenger:
    platform = Platform.TELEGRAM
    traits = Traits(app="Telegram", share_contact=True, erase_hours=48)

    def __init__(self, bot: Bot, *, backoff: float = 0.5) -> None:
        self._bot = bot
        self._backoff = backoff

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        delay = self._backoff
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await make()
            except TelegramRetryAfter as exc:
                if exc.retry_after > MAX_RETRY_AFTER:
                    raise DeliveryFailedError(f"rate limited for {exc.retry_after}s") from exc
                log.info("Telegram asked us to wait %ss", exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except TelegramForbiddenError as exc:
                raise RecipientUnreachableError(exc.message) from exc
            except TelegramMigrateToChat as exc:
                raise ChatMigratedError(exc.migrate_to_chat_id) from exc
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt == MAX_ATTEMPTS:
                    raise DeliveryFailedError(str(exc)) from exc
                log.warning("Telegram call failed (%s), retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay *= 2
        raise DeliveryFailedError("too many attempts")

    async def send(
        self,
        chat_id: int,
        screen: Screen,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        dedup: str | None = None,  # Telegram has no idempotent send
    ) -> list[int]:
        rendered = render(screen)
        ids: list[int] = []
        chunks = rendered.chunks
        file = tg_files.own_file(screen.files)
        if file is not None:
            # The file with the text as its caption where it fits; else the file, then the text.
            # Telegram counts a caption's visible characters in UTF-16 code units (an emoji is two).
            fits = (
                len(chunks) == 1 and len(html_to_plain(chunks[0]).encode("utf-16-le")) // 2 <= CAPTION_LIMIT
            )
            message = await tg_files.send_with_file(
                self._bot,
                self._call,
                chat_id,
                file,
                caption=chunks[0] if fits else None,
                markup=rendered.markup if fits else None,
                protect=rendered.protect,
                reply_to=reply_to,
                paid=screen.paid,
            )
            ids.append(message.message_id)
            if fits:
                return ids
            reply_to = None
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            markup = rendered.markup if last else None
            first_reply = reply_to if index == 0 else None
            sent = await self._send_text(
                chat_id,
                chunk,
                markup=markup,
                protect=rendered.protect,
                reply_to=first_reply,
                thread_id=thread_id,
                paid=screen.paid,
            )
            ids.append(sent)
        return ids

    async def star_balance(self) -> Decimal:
        """The bot's Telegram Stars (getMyStarBalance): what paid broadcasts are paid with."""
        return await tg_files.star_balance(self._bot, self._call)

    async def _send_text(
        self,
        chat_id: int,
        text: str,
        *,
        markup: object,
        protect: bool,
        reply_to: int | None,
        thread_id: int | None,
        paid: bool = False,
    ) -> int:
        """The sent message's id."""
        # A deleted card must not stop a reply from arriving: it then stands on its own.
        reply = (
            None
            if reply_to is None
            else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        )

        def attempt(text: str, parse_mode: str | None) -> Callable[[], Awaitable[int]]:
            async def send() -> int:
                method = SendText(
                    chat_id=chat_id,
                    text=text,
                    parse_mode=parse_mode,
                    reply_markup=markup,
                    protect_content=protect,
                    reply_parameters=reply,
                    message_thread_id=thread_id,
                    allow_paid_broadcast=True if paid else None,
                )
                return cast(SentText, await self._bot(method)).message_id

            return send

        try:
            return await self._call(attempt(text, ParseMode.HTML))
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise RecipientUnreachableError(exc.message) from exc
            if "parse entities" not in exc.message.lower():
                raise DeliveryFailedError(exc.message) from exc
            log.error("Telegram rejected our HTML; sending the text plain")
            return await self._call(attempt(html_to_plain(text), None))

    async def copy(
        self,
        from_chat: int,
        message_id: int,
        to_chat: int,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int:
        reply = (
            None
            if reply_to is None
            else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        )
        try:
            copied = await self._call(
                partial(
                    self._bot.copy_message,
                    chat_id=to_chat,
                    from_chat_id=from_chat,
                    message_id=message_id,
                    reply_parameters=reply,
                    message_thread_id=thread_id,
                )
            )
        except TelegramBadRequest as exc:
            message = exc.message.lower()
            if "chat not found" in message:
                raise RecipientUnreachableError(exc.message) from exc
            if "not found" in message:  # "message to copy not found": the parent deleted it
                raise MessageGoneError(exc.message) from exc
            raise DeliveryFailedError(exc.message) from exc
        return copied.message_id

    async def send_files(
        self,
        chat_id: int,
        files: Sequence[Attachment],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[int]:
        reply = (
            None
            if reply_to is None
            else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        )
        ours = [(f.kind, f.ref.removeprefix("tg:")) for f in files if f.ref.startswith("tg:")]
        ids: list[int] = []
        # Telegram albums: photos and videos together, documents apart, at most 10 each.
        for kinds in ({AttachmentKind.PHOTO, AttachmentKind.VIDEO}, {AttachmentKind.DOCUMENT}):
            group = [(kind, ref) for kind, ref in ours if kind in kinds]
            for start in range(0, len(group), 10):
                # aiogram's own union of media types; ours is a subset of it.
                album: list[Any] = [ALBUM_TYPES[kind](media=ref) for kind, ref in group[start : start + 10]]
                if len(album) == 1:
                    ids.append(await self._single(chat_id, *group[start], reply, thread_id))
                    continue
                messages = await self._call(
                    partial(
                        self._bot.send_media_group,
                        chat_id=chat_id,
                        media=album,
                        reply_parameters=reply,
                        message_thread_id=thread_id,
                    )
                )
                ids += [m.message_id for m in messages]
        for kind, ref in ours:
            if kind in SINGLE_SENDERS:
                ids.append(await self._single(chat_id, kind, ref, reply, thread_id))
        for file in files:
            if not file.ref.startswith("tg:") and file.url:
                ids.append(await self._foreign(chat_id, file, file.url, reply, thread_id))
        return ids

    async def _foreign(
        self, chat_id: int, file: Attachment, url: str, reply: ReplyParameters | None, thread_id: int | None
    ) -> int:
        """A file from another platform (a VK photo): Telegram fetches it by its link; else the link."""
        try:
            return await self._single(chat_id, file.kind, url, reply, thread_id)
        except TelegramBadRequest as exc:
            # Telegram takes only some kinds by URL (documents: PDF and ZIP); the link still works.
            log.info("Telegram would not fetch a file from another platform (%s); sending its link", exc)
        label = html.escape(file.name or file.kind.value)
        link = html.escape(url, quote=True)
        return await self._send_text(
            chat_id,
            f'📎 <a href="{link}">{label}</a>',
            markup=None,
            protect=False,
            reply_to=reply.message_id if reply else None,
            thread_id=thread_id,
        )

    async def _single(
        self,
        chat_id: int,
        kind: AttachmentKind,
        ref: str,
        reply: ReplyParameters | None,
        thread_id: int | None,
    ) -> int:
        method = getattr(self._bot, SINGLE_SENDERS.get(kind, f"send_{kind.value}"))
        message: Message = await self._call(
            partial(method, chat_id, ref, reply_parameters=reply, message_thread_id=thread_id)
        )
        return message.message_id

    async def fetch_file(self, attachment: Attachment, *, limit: int | None = None) -> FileData | None:
        return await tg_files.fetch_file(self._bot, self._call, attachment, limit)

    async def upload_files(
        self,
        chat_id: int,
        files: Sequence[FileData],
        *,
        reply_to: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        return await tg_files.upload_files(self._bot, self._call, chat_id, files, reply_to)

    async def open_topic(self, chat_id: int, name: str) -> int | None:
        try:
            topic = await self._call(partial(self._bot.create_forum_topic, chat_id=chat_id, name=name[:128]))
        except TelegramBadRequest as exc:
            if "not a forum" in exc.message.lower():
                return None
            raise DeliveryFailedError(exc.message) from exc
        return topic.message_thread_id

    async def rename_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        try:
            await self._call(
                partial(
                    self._bot.edit_forum_topic, chat_id=chat_id, message_thread_id=thread_id, name=name[:128]
                )
            )
        except (TelegramBadRequest, DeliveryFailedError) as exc:
            log.info("a topic could not be renamed (%s)", type(exc).__name__)

    async def rights(self, chat_id: int) -> ChatRights:
        me = await self._bot.me()
        member = await self._call(partial(self._bot.get_chat_member, chat_id=chat_id, user_id=me.id))
        status = str(member.status.value if hasattr(member.status, "value") else member.status)
        is_admin = status in {"administrator", "creator"}
        can_post = is_admin or status == "member" or bool(getattr(member, "can_send_messages", False))
        return ChatRights(can_post=can_post, is_admin=is_admin)

    async def edit(self, chat_id: int, message_id: int, screen: Screen) -> bool:
        if screen.request_contact or screen.reply_buttons or screen.files or len(screen.text) > 4096:
            return False
        markup: InlineKeyboardMarkup | None = inline_markup(screen)
        try:
            await self._call(
                lambda: self._bot(
                    EditText(
                        chat_id=chat_id,
                        message_id=message_id,
                        text=screen.text,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                    )
                )
            )
        except TelegramBadRequest as exc:
            # Pressing a toggle twice fast yields "not modified": the message already shows this.
            return "not modified" in exc.message
        except DeliveryFailedError:
            return False
        return True

    async def delete(self, chat_id: int, message_ids: Sequence[int]) -> int:
        deleted = 0
        for start in range(0, len(message_ids), DELETE_BATCH):
            batch = list(message_ids[start : start + DELETE_BATCH])
            try:
                await self._call(partial(self._bot.delete_messages, chat_id=chat_id, message_ids=batch))
                deleted += len(batch)
            except (TelegramBadRequest, DeliveryFailedError, RecipientUnreachableError) as exc:
                log.warning("could not delete %d messages: %s", len(batch), type(exc).__name__)
        return deleted

    async def send_document(self, chat_id: int, name: str, content: bytes, *, caption: str = "") -> list[int]:
        document = BufferedInputFile(content, filename=name)
        send = partial(
            self._bot.send_document, chat_id, document, caption=caption or None, parse_mode=ParseMode.HTML
        )
        try:
            message = await self._call(send)
        except TelegramBadRequest as exc:
            raise tg_files.refused(exc) from exc
        return [message.message_id]
