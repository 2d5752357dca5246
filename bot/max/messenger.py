"""The Messenger port for MAX: POST/PUT/DELETE /messages, MAX's text message ids behind integer ones.

A private chat is addressed by the person's user id (``?user_id=``), a group chat by MAX's chat id
(``?chat_id=``); which one follows from the ChatRef rule for MAX (see storage/vocabulary.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.max import files as max_files
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

NOT_READY_TRIES = 5  # a just-uploaded file MAX is still processing: the message is tried again
NOTIFICATION_LIMIT = 200  # characters of a callback answer we show; MAX shows it as a toast


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

    async def _post(self, chat_id: int, body: dict[str, Any], reply_to: int | None, tried: int = 0) -> int:
        body = {**body, "link": None}
        mid = await self._ids.mid(reply_to) if reply_to is not None else None
        if mid is not None:
            body["link"] = {"type": "reply", "mid": mid}
        try:
            answer = await self._client.call("POST", "/messages", params=self.target(chat_id), body=body)
        except MaxCallError as exc:
            if exc.code == max_files.NOT_READY and tried < NOT_READY_TRIES:
                # A file just uploaded is still being processed: the same message a little later.
                await max_files.not_ready_pause(tried, self._client.timing.backoff)
                return await self._post(chat_id, body, reply_to, tried + 1)
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
        return await max_files.download(self._client.files_http(), attachment, limit)

    async def upload_files(
        self,
        chat_id: int,
        files: Sequence[FileData],
        *,
        reply_to: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        """Files from another messenger, uploaded to MAX; each in a message of its own (MAX wants a
        ``file`` alone in its message). A file too big for MAX stops it before anything is sent."""
        for file in files:
            max_files.check_size(file)
        ids: list[int] = []
        for file in files:
            request = await self._upload(file)
            ids.append(
                await self._post(
                    chat_id, {"text": None, "attachments": [request]}, reply_to if not ids else None
                )
            )
        return ids

    async def _upload(self, file: FileData) -> dict[str, Any]:
        kind = max_files.upload_type(file)
        try:
            endpoint = await self._client.call("POST", "/uploads", params={"type": kind})
        except MaxCallError as exc:
            raise DeliveryFailedError(str(exc)) from exc
        url = endpoint.get("url") if isinstance(endpoint, dict) else None
        if not isinstance(url, str) or not url:
            raise DeliveryFailedError("MAX gave no upload URL")
        payload = await max_files.send_to_upload_url(self._client.files_http(), url, file, kind)
        return {"type": kind, "payload": payload}

    async def store_file(self, chat_id: int, file: FileData) -> Attachment:
        """Uploaded once, then sent by its token to anyone: an announcement's photo, not once per
        family. ``chat_id`` is not needed."""
        try:
            request = await self._upload(file)
        except (MaxCallError, RecipientUnreachableError) as exc:
            raise DeliveryFailedError(f"MAX upload refused: {exc}") from exc
        token = max_files.payload_token(request["payload"])
        if not token:
            raise DeliveryFailedError("MAX named no token for the upload")
        kind = request["type"]
        kind_of = AttachmentKind.PHOTO if kind == "image" else AttachmentKind.DOCUMENT
        return Attachment(kind=kind_of, ref=f"max:{kind}:{token}", name=file.name)

    async def send_document(self, chat_id: int, name: str, content: bytes, *, caption: str = "") -> list[int]:
        """An export as a file; its caption follows as a message of its own (a file goes alone)."""
        file = FileData(kind=AttachmentKind.DOCUMENT, name=name, data=content)
        try:
            max_files.check_size(file)
        except FileRefusedError as exc:
            raise DeliveryFailedError(str(exc)) from exc
        ids = [await self._post(chat_id, {"text": None, "attachments": [await self._upload(file)]}, None)]
        if caption:
            ids.append(
                await self._post(chat_id, {"text": caption, "format": "html", "attachments": []}, None)
            )
        return ids

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
