"""Files between Telegram and another messenger: downloaded through getFile, uploaded as new files.

A bot may download files up to 20 MB and upload up to 50 MB (https://core.telegram.org/bots/api#getfile).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from functools import partial
from pathlib import PurePosixPath
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, Message, ReplyParameters

from bot.telegram.render import Markup
from dialogs.state import Attachment
from handlers.ports import DeliveryFailedError, FileData, FileRefusedError, RecipientUnreachableError
from storage.vocabulary import AttachmentKind

DOWNLOAD_MB = 20
UPLOAD_MB = 50
MB = 1024 * 1024
NANO = Decimal(1_000_000_000)  # nanostars in a Star
T = TypeVar("T")
Call = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


async def fetch_file(
    bot: Bot, call: Call, attachment: Attachment, limit: int | None = None
) -> FileData | None:
    if not attachment.ref.startswith("tg:"):
        return None
    try:
        file = await call(partial(bot.get_file, attachment.ref.removeprefix("tg:")))
    except TelegramBadRequest as exc:
        if "too big" in exc.message.lower():
            raise FileRefusedError(DOWNLOAD_MB) from exc
        return None  # gone, or an id Telegram no longer knows
    # Telegram says the size first: a file past either limit is never fetched.
    if (file.file_size or 0) > DOWNLOAD_MB * MB or not file.file_path:
        raise FileRefusedError(DOWNLOAD_MB)
    if limit is not None and (file.file_size or 0) > limit:
        raise FileRefusedError(_mb(limit))
    buffer = await bot.download_file(file.file_path, timeout=60)
    if buffer is None:
        return None
    data = buffer.read()
    if limit is not None and len(data) > limit:
        raise FileRefusedError(_mb(limit))
    name = attachment.name or PurePosixPath(file.file_path).name or "file"
    return FileData(kind=attachment.kind, name=name, data=data)


def _mb(limit: int) -> int:
    return max(1, -(-limit // MB))


async def upload_files(
    bot: Bot, call: Call, chat_id: int, files: Sequence[FileData], reply_to: int | None
) -> list[int]:
    if any(len(f.data) > UPLOAD_MB * MB for f in files):
        raise FileRefusedError(UPLOAD_MB)
    ids: list[int] = []
    for index, file in enumerate(files):
        reply = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None and index == 0
            else None
        )
        upload = BufferedInputFile(file.data, filename=file.name)
        # A photo stays a photo; everything else (a voice message too) goes as a document.
        send = bot.send_photo if file.kind is AttachmentKind.PHOTO else bot.send_document
        try:
            message: Message = await call(partial(send, chat_id, upload, reply_parameters=reply))
        except TelegramBadRequest as exc:
            raise refused(exc) from exc
        ids.append(message.message_id)
    return ids


def refused(exc: TelegramBadRequest) -> DeliveryFailedError | RecipientUnreachableError:
    """A 400 as the messenger port's errors: a chat that is gone, or a message Telegram refused."""
    if "chat not found" in exc.message.lower():
        return RecipientUnreachableError(exc.message)
    return DeliveryFailedError(exc.message)


# ---- an announcement's file, and what paid broadcasts are paid with ----


def own_file(files: Sequence[Attachment]) -> tuple[AttachmentKind, str] | None:
    """A screen's file as Telegram keeps it (its file_id), else one Telegram can fetch by its link."""
    for file in files:
        if file.ref.startswith("tg:"):
            return file.kind, file.ref.removeprefix("tg:")
    return next(((f.kind, f.url) for f in files if f.url), None)


async def send_with_file(
    bot: Bot,
    call: Call,
    chat_id: int,
    file: tuple[AttachmentKind, str],
    *,
    caption: str | None,
    markup: Markup,
    protect: bool,
    reply_to: int | None,
    paid: bool,
) -> Message:
    """A photo (or else a document) with the screen's text as its caption and its buttons."""
    kind, ref = file
    send = bot.send_photo if kind is AttachmentKind.PHOTO else bot.send_document
    reply = (
        None if reply_to is None else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
    )
    try:
        message: Message = await call(
            partial(
                send,
                chat_id,
                ref,
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
                reply_markup=markup,
                protect_content=protect,
                reply_parameters=reply,
                allow_paid_broadcast=True if paid else None,
            )
        )
    except TelegramBadRequest as exc:
        raise refused(exc) from exc
    return message


async def star_balance(bot: Bot, call: Call) -> Decimal:
    """The bot's Telegram Stars (getMyStarBalance): what paid broadcasts are paid with."""
    try:
        amount = await call(bot.get_my_star_balance)
    except TelegramBadRequest as exc:
        raise DeliveryFailedError(exc.message) from exc
    return Decimal(amount.amount) + Decimal(amount.nanostar_amount or 0) / NANO
