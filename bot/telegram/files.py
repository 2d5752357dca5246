"""Files between Telegram and another messenger: downloaded through getFile, uploaded as new files.

A bot may download files up to 20 MB and upload up to 50 MB (https://core.telegram.org/bots/api#getfile).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import PurePosixPath
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, Message, ReplyParameters

from dialogs.state import Attachment
from handlers.ports import FileData, FileRefusedError
from storage.vocabulary import AttachmentKind

DOWNLOAD_MB = 20
UPLOAD_MB = 50
MB = 1024 * 1024
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
        message: Message = await call(partial(send, chat_id, upload, reply_parameters=reply))
        ids.append(message.message_id)
    return ids
