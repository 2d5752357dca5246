"""The Messenger port for MAX: POST/PUT/DELETE /messages, MAX's text message ids behind integer ones.

A private chat is addressed by the person's user id (``?user_id=``), a group chat by MAX's chat id
(``?chat_id=``); which one follows from the ChatRef rule for MAX (see storage/vocabulary.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from bot.max.client import MaxCallError, MaxClient
from bot.max.ids import MessageIds
from bot.max.render import attachment_of, attachment_request, message_number, render
from dialogs.primitives import Screen, Traits
from dialogs.state import Attachment
from handlers.ports import (
    ChatRights,
    DeliveryFailedError,
    FileData,
    FileRefusedError,
    MessageGoneError,
    RecipientUnreachableError,
)
from storage.vocabulary import AttachmentKind, ChatRef, Platform

log = logging.getLogger(__name__)

NOTIFICATION_LIMIT = 200  # characters of a callback answer we show; MAX shows it as a toast
MB = 1024 * 1024
UPLOAD_MB = 4096  # MAX takes files up to 4 GB
NOT_READY_TRIES = 5
NOT_READY_WAIT = 0.5  # seconds before sending a just-uploaded file again (doubles)


class MaxMessenger:
    platform = Platform.MAX
    # MAX has a contact button; we delete the bot's messages of the last 24 hours (MAX documents no
    # longer window for bots, and may refuse to delete the person's own messages in a dialog).
    traits = Traits(app="MAX", share_contact=True, erase_hours=24)

    def __init__(self, client: MaxClient, ids: MessageIds) -> None:
        self._client = client
        self._ids = ids

    @staticmethod
    def target(chat_id: int) -> dict[str, int]:
        if ChatRef.of(Platform.MAX, chat_id).is_private:
            return {"user_id": chat_id}
        return {"chat_id": chat_id}

    async def send(
        self,
        chat_id: int,
        screen: Screen,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        # MAX has no idempotency key like VK's random_id, and no protected content: ``dedup`` and
        # ``screen.protect`` have nothing to map to.
        ids: list[int] = []
        file = _own_file(screen.files)
        if file is not None and file["type"] != "image":
            # A MAX ``file`` must be alone in its message: it goes first, the text after it.
            ids.append(await self._post(chat_id, {"text": None, "attachments": [file]}, reply_to))
            file, reply_to = None, None
        for index, part in enumerate(render(screen)):
            body = part.body()
            if index == 0 and file is not None:  # a photo shows with the text, above its buttons
                body["attachments"] = [file, *body["attachments"]]
            ids.append(await self._post(chat_id, body, reply_to if index == 0 else None))
        return ids

    async def _post(self, chat_id: int, body: dict[str, Any], reply_to: int | None) -> int:
        body = {**body, "link": None}
        mid = await self._ids.mid(reply_to) if reply_to is not None else None
        if mid is not None:
            body["link"] = {"type": "reply", "mid": mid}
        try:
            answer = await self._client.call("POST", "/messages", params=self.target(chat_id), body=body)
        except MaxCallError as exc:
            if body["link"] is None:
                raise DeliveryFailedError(str(exc)) from exc
            # The message replied to may be gone (a quick exit): the message still goes, on its own.
            log.info("a MAX reply was refused (%s); sending it without the reply", exc)
            return await self._post(chat_id, {k: v for k, v in body.items() if k != "link"}, None)
        try:
            new_mid = str(answer["message"]["body"]["mid"])
        except (KeyError, TypeError):
            raise DeliveryFailedError("MAX answered a send without a message id") from None
        number = message_number(new_mid)
        await self._ids.remember({number: new_mid})
        return number

    async def copy(
        self,
        from_chat: int,
        message_id: int,
        to_chat: int,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int:
        # MAX forwards show the sender: the message is sent anew (text and files by their tokens),
        # so families and coordinators stay anonymous to each other.
        mid = await self._ids.mid(message_id)
        if mid is None:
            raise MessageGoneError(f"no MAX message behind {message_id}")
        try:
            original = await self._client.call("GET", f"/messages/{mid}")
        except (MaxCallError, RecipientUnreachableError) as exc:
            raise MessageGoneError(str(exc)) from exc
        body = original.get("body") if isinstance(original, dict) else None
        if not isinstance(body, dict):
            raise MessageGoneError("the MAX message has no body")
        files = [a for a in (attachment_of(raw) for raw in body.get("attachments") or []) if a is not None]
        requests = [r for r in (attachment_request(a) for a in files) if r is not None]
        text = body.get("text") or None
        if not text and not requests:
            raise DeliveryFailedError("nothing in the MAX message can be sent again")
        return await self._post(to_chat, {"text": text, "attachments": requests}, reply_to)

    async def send_files(
        self,
        chat_id: int,
        files: Sequence[Attachment],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[int]:
        """MAX files go again by their tokens; photos from elsewhere by their link (VK's), the rest is
        skipped. A ``file`` must be alone in its message, so each file is a message of its own."""
        ids: list[int] = []
        for attachment in files:
            request = attachment_request(attachment)
            if request is None and attachment.kind is AttachmentKind.PHOTO and attachment.url:
                request = {"type": "image", "payload": {"url": attachment.url}}
            if request is None:
                continue
            body = {"text": None, "attachments": [request]}
            ids.append(await self._post(chat_id, body, reply_to if not ids else None))
        return ids

    async def fetch_file(self, attachment: Attachment, *, limit: int | None = None) -> FileData | None:
        # MAX's files travel by their links (attachment.url), which Telegram fetches itself; downloading
        # them for another upload is not built yet.
        return None

    async def upload_files(
        self,
        chat_id: int,
        files: Sequence[FileData],
        *,
        reply_to: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        """Files the bot holds (an export, a file from another messenger) through MAX's upload flow,
        each in a message of its own (MAX wants a ``file`` alone in its message)."""
        if any(len(f.data) > UPLOAD_MB * MB for f in files):
            raise FileRefusedError(UPLOAD_MB)
        ids: list[int] = []
        for file in files:
            kind = "image" if file.kind is AttachmentKind.PHOTO else "file"
            token = await self._client.upload(kind, file.name, file.data)
            request = {"type": kind, "payload": {"token": token}}
            ids.append(await self._post_file(chat_id, request, reply_to if not ids else None))
        return ids

    async def _post_file(self, chat_id: int, request: dict[str, Any], reply_to: int | None) -> int:
        """MAX processes an uploaded file for a moment; until then it answers "attachment.not.ready"."""
        delay = NOT_READY_WAIT
        for attempt in range(NOT_READY_TRIES):
            try:
                return await self._post(chat_id, {"text": None, "attachments": [request]}, reply_to)
            except DeliveryFailedError as exc:
                if "attachment.not.ready" not in str(exc) or attempt == NOT_READY_TRIES - 1:
                    raise
                await asyncio.sleep(delay)
                delay *= 2
        raise DeliveryFailedError("MAX never finished processing the file")  # pragma: no cover

    async def store_file(self, chat_id: int, file: FileData) -> Attachment:
        """Uploaded once (``POST /uploads``, then the file to the address it gives), then sent by its
        token to anyone: an announcement's photo, not once per family. ``chat_id`` is not needed."""
        kind = "image" if file.kind is AttachmentKind.PHOTO else "file"
        try:
            token = await self._client.upload(kind, file.name, file.data)
        except (MaxCallError, RecipientUnreachableError) as exc:
            raise DeliveryFailedError(f"MAX upload refused: {exc}") from exc
        kind_of = AttachmentKind.PHOTO if kind == "image" else AttachmentKind.DOCUMENT
        return Attachment(kind=kind_of, ref=f"max:{kind}:{token}", name=file.name)

    async def send_document(self, chat_id: int, name: str, content: bytes, *, caption: str = "") -> list[int]:
        try:
            return await self.upload_files(
                chat_id, [FileData(kind=AttachmentKind.DOCUMENT, name=name, data=content)]
            )
        except FileRefusedError as exc:
            raise DeliveryFailedError(str(exc)) from exc

    async def open_topic(self, chat_id: int, name: str) -> int | None:
        return None  # MAX group chats have no topics: the card is the thread

    async def rename_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        return None

    async def rights(self, chat_id: int) -> ChatRights:
        try:
            member = await self._client.call("GET", f"/chats/{chat_id}/members/me")
        except (MaxCallError, RecipientUnreachableError, DeliveryFailedError) as exc:
            log.info("the bot's rights in a MAX chat are unknown (%s)", exc)
            return ChatRights(can_post=False, is_admin=False)
        is_admin = bool(member.get("is_admin")) if isinstance(member, dict) else False
        # MAX gives a bot the group's messages only when it is an admin there.
        return ChatRights(can_post=True, is_admin=is_admin)

    async def edit(self, chat_id: int, message_id: int, screen: Screen) -> bool:
        if screen.files:
            return False  # a file is not put into a message in place: it goes as a new one
        parts = render(screen)
        mid = await self._ids.mid(message_id)
        if len(parts) != 1 or mid is None:
            return False
        try:
            answer = await self._client.call(
                "PUT", "/messages", params={"message_id": mid}, body={**parts[0].body(), "link": None}
            )
        except (MaxCallError, DeliveryFailedError, RecipientUnreachableError) as exc:
            log.info("a MAX message could not be edited (%s); sending a new one", exc)
            return False
        return bool(isinstance(answer, dict) and answer.get("success"))

    async def delete(self, chat_id: int, message_ids: Sequence[int]) -> int:
        mids = await self._ids.mids(list(message_ids))
        deleted = 0
        for mid in mids.values():
            try:
                answer = await self._client.call(
                    "DELETE", "/messages", params={"message_id": mid}, attempts=2
                )
            except (MaxCallError, DeliveryFailedError, RecipientUnreachableError) as exc:
                log.info("a MAX message could not be deleted (%s)", exc)
                continue
            deleted += bool(isinstance(answer, dict) and answer.get("success"))
        return deleted

    async def answer_press(self, callback_id: str, toast: str | None) -> None:
        """A press with something to say gets MAX's one-off notification; errors only logged."""
        if not toast:
            return
        text = toast if len(toast) <= NOTIFICATION_LIMIT else toast[: NOTIFICATION_LIMIT - 1] + "…"
        try:
            await self._client.call(
                "POST", "/answers", params={"callback_id": callback_id}, body={"notification": text}
            )
        except (MaxCallError, DeliveryFailedError, RecipientUnreachableError) as exc:
            log.info("a MAX button press could not be answered (%s)", exc)


def _own_file(files: Sequence[Attachment]) -> dict[str, Any] | None:
    """A screen's file as MAX can send it: its own token, else a photo by its link (VK's)."""
    for file in files:
        request = attachment_request(file)
        if request is not None:
            return request
    photo = next((f for f in files if f.kind is AttachmentKind.PHOTO and f.url), None)
    return None if photo is None else {"type": "image", "payload": {"url": photo.url}}
