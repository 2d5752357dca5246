"""Files between MAX and another messenger: downloaded by their links, uploaded through ``/uploads``.

Upload (dev.max.ru, POST /uploads): ``POST /uploads?type=image|file`` gives a one-file upload URL;
the file goes there as multipart field ``data``; the JSON answer (``{"token": ...}``, for an image
``{"photos": {...}}``) is the attachment's payload in ``POST /messages``. A file MAX has not
processed yet is refused with ``attachment.not.ready``: the message is tried again a little later.
MAX takes images up to 50 MB and other files up to 4 GB; we read at most 50 MB of a MAX file (MAX
documents no limit for bots, and the other messengers take no more from a bot: Telegram 50 MB).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from dialogs.state import Attachment
from handlers.ports import DeliveryFailedError, FileData, FileRefusedError
from storage.vocabulary import AttachmentKind

log = logging.getLogger(__name__)

MB = 1024 * 1024
DOWNLOAD_MB = 50
IMAGE_MB = 50
FILE_MB = 4096
TIMEOUT = 60.0
NOT_READY = "attachment.not.ready"


def _mb(limit: int) -> int:
    return max(1, -(-limit // MB))


async def download(http: aiohttp.ClientSession, attachment: Attachment, limit: int | None) -> FileData | None:
    """A MAX file by its link, never read past ``limit`` bytes (nor past 50 MB); None when gone."""
    if not attachment.ref.startswith("max:") or not attachment.url:
        return None
    cap = min(limit, DOWNLOAD_MB * MB) if limit is not None else DOWNLOAD_MB * MB
    try:
        async with http.get(attachment.url, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as response:
            if response.status != 200:
                return None  # the link expired or the file is gone: the coordinator is told it was not passed
            declared = response.content_length
            if declared is not None and declared > cap:
                raise FileRefusedError(_mb(cap))
            content = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                content += chunk
                if len(content) > cap:
                    raise FileRefusedError(_mb(cap))
    except (aiohttp.ClientError, TimeoutError):
        return None
    name = attachment.name or attachment.url.split("?", 1)[0].rsplit("/", 1)[-1] or "file"
    return FileData(kind=attachment.kind, name=name, data=bytes(content))


def upload_type(file: FileData) -> str:
    """A photo stays a photo; everything else (a voice message, a video too) goes as a file."""
    return "image" if file.kind is AttachmentKind.PHOTO else "file"


def check_size(file: FileData) -> None:
    limit = IMAGE_MB if upload_type(file) == "image" else FILE_MB
    if len(file.data) > limit * MB:
        raise FileRefusedError(limit)


async def send_to_upload_url(
    http: aiohttp.ClientSession, url: str, file: FileData, kind: str
) -> dict[str, Any]:
    """The file to the upload URL MAX gave; the answer is the attachment's payload."""
    form = aiohttp.FormData()
    form.add_field("data", file.data, filename=file.name)
    try:
        async with http.post(url, data=form, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as response:
            answer = await response.json(content_type=None) if response.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise DeliveryFailedError(f"MAX upload failed: {type(exc).__name__}") from exc
    if not isinstance(answer, dict):
        raise DeliveryFailedError("MAX's upload server refused the file")
    # Only what an AttachmentRequest's payload takes: a token, or an image's photo tokens.
    payload = {k: answer[k] for k in ("token", "photos") if answer.get(k)}
    if not payload:
        raise DeliveryFailedError("MAX's upload server answered without a token")
    return payload


def payload_token(payload: Any) -> str | None:
    """The token in an upload's payload: ``{"token": ...}`` for a file, ``{"photos": {key: {"token":
    ...}}}`` for an image (MAX's PhotoTokens)."""
    if not isinstance(payload, dict):
        return None
    if payload.get("token"):
        return str(payload["token"])
    photos = payload.get("photos")
    if isinstance(photos, dict):
        for value in photos.values():
            if isinstance(value, dict) and value.get("token"):
                return str(value["token"])
    return None


async def not_ready_pause(attempt: int, base: float) -> None:
    log.info("a MAX upload is not processed yet; trying the message again")
    await asyncio.sleep(base * 2**attempt)
