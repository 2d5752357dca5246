"""Files between VK and another messenger: downloaded by their links, uploaded through VK's upload flow.

A photo: ``photos.getMessagesUploadServer``, a multipart POST of field ``photo``, then
``photos.saveMessagesPhoto``. Anything else (a voice message too) as a document:
``docs.getMessagesUploadServer``, a POST of field ``file``, then ``docs.save``. VK takes photos up to
50 MB and documents up to 200 MB in messages.
"""

from __future__ import annotations

import asyncio
from typing import Any

import requests

from bot.vk.client import UNREACHABLE, VkCaller, VkCallError
from dialogs.state import Attachment
from handlers.ports import DeliveryFailedError, FileData, FileRefusedError, RecipientUnreachableError
from storage.vocabulary import AttachmentKind

MB = 1024 * 1024
PHOTO_MB = 50
DOC_MB = 200
TIMEOUT = 60.0


def _get(http: requests.Session, url: str, limit: int | None) -> bytes:
    """Read a file by its link, never past ``limit`` bytes."""
    with http.get(url, stream=True, timeout=TIMEOUT) as response:
        response.raise_for_status()
        declared = response.headers.get("Content-Length")
        if limit is not None and declared is not None and declared.isdigit() and int(declared) > limit:
            raise FileRefusedError(max(1, -(-limit // MB)))
        content = bytearray()
        for chunk in response.iter_content(64 * 1024):
            content += chunk
            if limit is not None and len(content) > limit:
                raise FileRefusedError(max(1, -(-limit // MB)))
        return bytes(content)


def _post(http: requests.Session, url: str, field: str, name: str, data: bytes) -> dict[str, Any]:
    response = http.post(url, files={field: (name, data)}, timeout=TIMEOUT)
    response.raise_for_status()
    answer = response.json()
    if not isinstance(answer, dict) or "error" in answer:
        raise DeliveryFailedError(f"VK's upload server refused the file: {answer}")
    return answer


async def fetch_file(
    http: requests.Session, attachment: Attachment, limit: int | None = None
) -> FileData | None:
    if not attachment.ref.startswith("vk:"):
        return None
    return await fetch_url(http, attachment, limit)


async def fetch_url(
    http: requests.Session, attachment: Attachment, limit: int | None = None
) -> FileData | None:
    """A file by its public link (VK's own, or another messenger's)."""
    if not attachment.url:
        return None
    try:
        data = await asyncio.to_thread(_get, http, attachment.url, limit)
    except requests.RequestException:
        return None  # the link expired or the file is gone: the coordinator is told it was not passed
    name = attachment.name or attachment.url.split("?", 1)[0].rsplit("/", 1)[-1] or "file"
    return FileData(kind=attachment.kind, name=name, data=data)


async def upload(call: VkCaller, peer_id: int, file: FileData) -> str:
    """The ``attachment`` reference of the file uploaded for a message to ``peer_id``."""
    http = call.vk.http
    photo = file.kind is AttachmentKind.PHOTO
    if len(file.data) > (PHOTO_MB if photo else DOC_MB) * MB:
        raise FileRefusedError(PHOTO_MB if photo else DOC_MB)
    try:
        if photo:
            server = await call("photos.getMessagesUploadServer", peer_id=peer_id)
            sent = await asyncio.to_thread(_post, http, server["upload_url"], "photo", file.name, file.data)
            saved = await call(
                "photos.saveMessagesPhoto",
                photo=sent["photo"],
                server=sent.get("server"),
                hash=sent.get("hash"),
            )
            return _ref("photo", saved[0])
        server = await call("docs.getMessagesUploadServer", type="doc", peer_id=peer_id)
        sent = await asyncio.to_thread(_post, http, server["upload_url"], "file", file.name, file.data)
        saved = await call("docs.save", file=sent["file"], title=file.name)
        return _ref("doc", saved["doc"])
    except (requests.RequestException, KeyError, IndexError, TypeError, ValueError) as exc:
        raise DeliveryFailedError(f"VK upload failed: {type(exc).__name__}") from exc
    except VkCallError as exc:  # VK refused a step of the upload (an upload server, the save)
        if exc.code in UNREACHABLE:
            raise RecipientUnreachableError(str(exc)) from exc
        raise DeliveryFailedError(f"VK upload refused: {exc}") from exc


def _ref(kind: str, obj: dict[str, Any]) -> str:
    ref = f"{kind}{obj['owner_id']}_{obj['id']}"
    return f"{ref}_{obj['access_key']}" if obj.get("access_key") else ref
