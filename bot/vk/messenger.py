"""The Messenger port for VK: messages.send with a random_id of ours, keyboards as the person's app can show.

Message ids on VK are conversation message ids (``cmid``): the ones message_event presses carry and
messages.edit / messages.delete take, so one kind of id is kept everywhere.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from bot.text import shorten
from bot.vk import files as vk_files
from bot.vk.client import VkCaller, VkCallError
from bot.vk.fanout import INTENT_REFUSED, PEERS_PER_SEND, result_of, send_batch
from bot.vk.render import MORE, ClientInfo, Part, attachment_of, attachment_ref, is_regular, render
from dialogs.primitives import Screen, Traits
from dialogs.state import Attachment
from handlers.ports import (
    ChatRights,
    DeliveryFailedError,
    FileData,
    IntentRefusedError,
    MessageGoneError,
    RecipientUnreachableError,
    SendResult,
)
from storage.vocabulary import VK_CHAT_PEER_START, AttachmentKind, Platform

log = logging.getLogger(__name__)

DELETE_BATCH = 100
ATTACHMENTS_PER_MESSAGE = 10
SNACKBAR_LIMIT = 90  # characters VK shows in a message_event answer


class VkMessenger:
    platform = Platform.VK
    # No share-contact button on VK: the number is typed. A community may delete its own and the
    # person's messages for everyone within 24 hours.
    traits = Traits(app="VK", share_contact=False, erase_hours=24)
    fanout = PEERS_PER_SEND

    def __init__(self, call: VkCaller, group_id: int | None = None) -> None:
        self._call = call
        self._group_id = group_id
        self.clients: dict[int, ClientInfo] = {}
        self._regular: set[int] = (
            set()
        )  # people whose screens go to the keyboard under the input field  # what each person's app can show, from their last message
        # Sends without an id of ours to derive from still get a stable random_id across their retries.
        self._boot = secrets.token_hex(8)
        self._counter = itertools.count(1)

    async def call(self, method: str, **params: Any) -> Any:
        """An API call with the messenger's retry policy (the transport looks up names with it)."""
        return await self._call(method, **params)

    def client(self, peer_id: int) -> ClientInfo:
        # Until a person writes after a restart we assume a current app: inline callback keyboards.
        # A conversation's cards always get them: every member's app shows the same message.
        return self.clients.get(peer_id, ClientInfo())

    def _fresh_key(self) -> str:
        """For a send with no id of ours to derive from: still one random_id across its retries."""
        return f"{self._boot}:{next(self._counter)}"

    def random_id(self, peer_id: int, key: str, part: int) -> int:
        """VK drops a second message with the same random_id to the same person: retries never double."""
        digest = hashlib.blake2b(f"{peer_id}:{key}:{part}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % (2**31 - 1) + 1

    async def send(
        self,
        chat_id: int,
        screen: Screen,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        key = dedup or self._fresh_key()
        ids: list[int] = []
        parts = self._render(chat_id, screen)
        if any(is_regular(part.keyboard) for part in parts):
            # Once a screen needed the keyboard under the input field, the following screens use it
            # too: it then always shows the current screen's buttons, never an old screen's.
            self._regular.add(chat_id)
        # The screen's file as VK keeps it (an announcement's photo, uploaded once): with the text.
        own = [ref for ref in (attachment_ref(f) for f in screen.files) if ref is not None][:1]
        for index, part in enumerate(parts):
            extra = {"attachment": own[0]} if own and index == 0 else {}
            ids.append(
                await self._send(
                    chat_id,
                    self.random_id(chat_id, key, index),
                    message=part.text,
                    keyboard=part.keyboard,
                    reply_to=reply_to if index == 0 else None,
                    # VK may refuse a message the person did not just ask for without its intent.
                    intent=screen.intent,
                    **extra,
                )
            )
        return ids

    async def _send(self, peer_id: int, random_id: int, *, reply_to: int | None = None, **params: Any) -> int:
        if reply_to is not None:
            # reply_to takes a global message id; a reply by conversation message id goes through forward.
            params["forward"] = json.dumps(
                {"peer_id": peer_id, "conversation_message_ids": [reply_to], "is_reply": True}
            )
        try:
            answer = await self._call(
                "messages.send",
                peer_ids=[peer_id],
                random_id=random_id,
                dont_parse_links=True,
                disable_mentions=True,
                **params,
            )
        except VkCallError as exc:
            if exc.code in INTENT_REFUSED:
                raise IntentRefusedError(exc.code) from exc
            if "forward" not in params:
                raise DeliveryFailedError(str(exc)) from exc
            # The message replied to may be gone (a quick exit): the message still goes, on its own.
            log.info("a VK reply was refused (%s); sending it without the reply", exc)
            del params["forward"]
            return await self._send(peer_id, random_id, **params)
        item = answer[0] if isinstance(answer, list) and answer else {}
        result = result_of(item)
        if isinstance(result, Exception):
            raise result
        return result[0]

    async def send_many(
        self, chat_ids: Sequence[int], screen: Screen, *, dedup: str
    ) -> dict[int, SendResult]:
        """One messages.send with ``peer_ids`` for everyone whose app shows the screen alike; a screen
        that takes several messages goes person by person. The random_id comes from ``dedup`` and the
        message, so a call repeated after a crash delivers nobody's copy twice (VK keys it per peer)."""
        results: dict[int, SendResult] = {}
        groups: dict[tuple[str, str | None], list[int]] = {}
        for chat_id in chat_ids:
            parts = self._render(chat_id, screen)
            if len(parts) != 1:
                try:
                    results[chat_id] = await self.send(chat_id, screen, dedup=dedup)
                except (RecipientUnreachableError, DeliveryFailedError) as exc:
                    results[chat_id] = exc
                continue
            if is_regular(parts[0].keyboard):
                self._regular.add(chat_id)
            groups.setdefault((parts[0].text, parts[0].keyboard), []).append(chat_id)
        # The screen's file as VK keeps it (an announcement's photo, uploaded once): with the text.
        own = next((ref for ref in (attachment_ref(f) for f in screen.files) if ref is not None), None)
        for (text, keyboard), peers in groups.items():
            random_id = self.random_id(0, f"{dedup}:{text}:{keyboard}", 0)
            for start in range(0, len(peers), PEERS_PER_SEND):
                batch = peers[start : start + PEERS_PER_SEND]
                results |= await send_batch(
                    self._call,
                    batch,
                    random_id,
                    text=text,
                    keyboard=keyboard,
                    intent=screen.intent,
                    attachment=own,
                )
        return results

    async def copy(
        self,
        from_chat: int,
        message_id: int,
        to_chat: int,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int:
        """VK to VK (a family and a conversation): the message is sent anew, its text and its files by
        reference, since a forward would show who wrote it and families and coordinators stay anonymous."""
        try:
            answer = await self._call(
                "messages.getByConversationMessageId",
                peer_id=from_chat,
                conversation_message_ids=[message_id],
            )
        except (VkCallError, RecipientUnreachableError) as exc:
            raise MessageGoneError(str(exc)) from exc
        items = answer.get("items") if isinstance(answer, dict) else None
        if not items or not isinstance(items[0], dict):
            raise MessageGoneError(f"no VK message {message_id} in {from_chat}")
        original = items[0]
        files = [
            a for a in (attachment_of(raw) for raw in original.get("attachments") or []) if a is not None
        ]
        refs = [ref for ref in (attachment_ref(f) for f in files) if ref is not None]
        text = str(original.get("text") or "")
        if not text.strip() and not refs:
            raise DeliveryFailedError("nothing in the VK message can be sent again")
        params: dict[str, Any] = {"message": text}
        if refs:
            params["attachment"] = ",".join(refs[:ATTACHMENTS_PER_MESSAGE])
        key = f"copy:{from_chat}:{message_id}"
        return await self._send(to_chat, self.random_id(to_chat, key, 0), reply_to=reply_to, **params)

    async def send_files(
        self,
        chat_id: int,
        files: Sequence[Attachment],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[int]:
        refs = [ref for ref in (attachment_ref(f) for f in files) if ref is not None]
        for file in files:
            if attachment_ref(file) is None and file.url:
                # Another messenger's file with a public link (MAX's): fetched and uploaded to VK.
                data = await vk_files.fetch_url(self._call.vk.http, file)
                if data is not None:
                    refs.append(await vk_files.upload(self._call, chat_id, data))
        ids: list[int] = []
        for start in range(0, len(refs), ATTACHMENTS_PER_MESSAGE):
            batch = refs[start : start + ATTACHMENTS_PER_MESSAGE]
            key = "files:" + ",".join(batch)
            ids.append(
                await self._send(
                    chat_id,
                    self.random_id(chat_id, key, start),
                    attachment=",".join(batch),
                    reply_to=reply_to if start == 0 else None,
                )
            )
        return ids

    async def fetch_file(self, attachment: Attachment, *, limit: int | None = None) -> FileData | None:
        return await vk_files.fetch_file(self._call.vk.http, attachment, limit)

    async def upload_files(
        self,
        chat_id: int,
        files: Sequence[FileData],
        *,
        reply_to: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        """Files from another messenger, uploaded to VK and sent in one message (ten at most each)."""
        refs = [await vk_files.upload(self._call, chat_id, file) for file in files]
        key = dedup or self._fresh_key()
        ids: list[int] = []
        for start in range(0, len(refs), ATTACHMENTS_PER_MESSAGE):
            batch = refs[start : start + ATTACHMENTS_PER_MESSAGE]
            ids.append(
                await self._send(
                    chat_id,
                    self.random_id(chat_id, f"files:{key}", start),
                    attachment=",".join(batch),
                    reply_to=reply_to if start == 0 else None,
                )
            )
        return ids

    async def store_file(self, chat_id: int, file: FileData) -> Attachment:
        """Uploaded once (for ``chat_id``'s conversation), then sent by its ref to anyone."""
        ref = await vk_files.upload(self._call, chat_id, file)
        return Attachment(kind=file.kind, ref=f"vk:{ref}", name=file.name)

    async def send_document(self, chat_id: int, name: str, content: bytes, *, caption: str = "") -> list[int]:
        # The caption has nowhere to go in VK's upload flow; the file is sent as a document.
        return await self.upload_files(
            chat_id, [FileData(kind=AttachmentKind.DOCUMENT, name=name, data=content)]
        )

    async def open_topic(self, chat_id: int, name: str) -> int | None:
        return None  # VK conversations have no topics: the card is the thread

    async def rename_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        return None

    async def rights(self, chat_id: int) -> ChatRights:
        """VK shows a community a conversation's settings only where it is an admin; an admin sees
        every message there, anyone else only the messages that mention it."""
        try:
            answer = await self._call("messages.getConversationsById", peer_ids=[chat_id])
        except VkCallError as exc:
            log.info("VK would not show conversation %d (%s): the bot is not its admin", chat_id, exc)
            return ChatRights(can_post=True, is_admin=False)
        items = answer.get("items") if isinstance(answer, dict) else None
        if not items or not isinstance(items[0], dict):
            return ChatRights(can_post=True, is_admin=False)
        settings = items[0].get("chat_settings") or {}
        admins = settings.get("admin_ids") or []
        is_admin = self._group_id is None or -self._group_id in admins
        can_write = (items[0].get("can_write") or {}).get("allowed", True)
        return ChatRights(can_post=bool(can_write), is_admin=is_admin)

    def _render(self, chat_id: int, screen: Screen) -> list[Part]:
        conversation = chat_id > VK_CHAT_PEER_START
        return render(
            screen, self.client(chat_id), regular=chat_id in self._regular, conversation=conversation
        )

    async def edit(self, chat_id: int, message_id: int, screen: Screen) -> bool:
        if screen.files:
            return False  # a file is not put into a message in place: it goes as a new one
        parts = self._render(chat_id, screen)
        rest: list[Part] = []
        if chat_id > VK_CHAT_PEER_START and len(parts) > 1 and all(p.text == MORE for p in parts[1:]):
            # A card whose buttons outgrow one inline keyboard (a page of regions): the card keeps the
            # first page, the others follow as replies to it.
            parts, rest = parts[:1], parts[1:]
        if len(parts) != 1 or is_regular(parts[0].keyboard) or screen.reply_buttons:
            return False  # only a message with its own inline keyboard can be changed in place
        keyboard = parts[0].keyboard
        try:
            await self._call(
                "messages.edit",
                peer_id=chat_id,
                cmid=message_id,
                message=parts[0].text,
                keyboard=keyboard or json.dumps({"inline": True, "buttons": []}),
                dont_parse_links=True,
                disable_mentions=True,
            )
        except (VkCallError, DeliveryFailedError, RecipientUnreachableError) as exc:
            log.info("a VK message could not be edited (%s); sending a new one", exc)
            return False
        for index, part in enumerate(rest):
            key = f"more:{message_id}:{part.keyboard}"
            try:
                await self._send(
                    chat_id,
                    self.random_id(chat_id, key, index),
                    message=part.text,
                    keyboard=part.keyboard,
                    reply_to=message_id,
                )
            except (DeliveryFailedError, RecipientUnreachableError) as exc:
                log.info("the rest of a VK card's buttons could not be sent (%s)", exc)
        return True

    async def delete(self, chat_id: int, message_ids: Sequence[int]) -> int:
        message_ids = list(message_ids)
        if chat_id in self._regular:
            # The keyboard under the input field outlives its messages: replace it with an empty one,
            # then delete the message that carried it too.
            self._regular.discard(chat_id)
            try:
                message_ids.append(
                    await self._send(
                        chat_id,
                        self.random_id(chat_id, self._fresh_key(), 0),
                        message="…",
                        keyboard=json.dumps({"one_time": True, "buttons": []}),
                    )
                )
            except (DeliveryFailedError, RecipientUnreachableError) as exc:
                log.info("the VK keyboard could not be taken away (%s)", exc)
        deleted = 0
        for start in range(0, len(message_ids), DELETE_BATCH):
            batch = list(message_ids[start : start + DELETE_BATCH])
            try:
                answer = await self._call(
                    "messages.delete", peer_id=chat_id, cmids=batch, delete_for_all=True
                )
            except (VkCallError, DeliveryFailedError, RecipientUnreachableError) as exc:
                log.warning("could not delete %d VK messages: %s", len(batch), exc)
                continue
            items = answer if isinstance(answer, list) else []
            deleted += sum(1 for item in items if isinstance(item, dict) and item.get("response") == 1)
        return deleted

    async def answer_press(self, event_id: str, user_id: int, peer_id: int, toast: str | None) -> None:
        """Every callback press is answered, or the person's app keeps spinning."""
        event_data = None
        if toast:
            snackbar = {"type": "show_snackbar", "text": shorten(toast, SNACKBAR_LIMIT)}
            event_data = json.dumps(snackbar, ensure_ascii=False)
        try:
            await self._call(
                "messages.sendMessageEventAnswer",
                event_id=event_id,
                user_id=user_id,
                peer_id=peer_id,
                event_data=event_data,
            )
        except (VkCallError, DeliveryFailedError, RecipientUnreachableError) as exc:
            log.info("a VK button press could not be answered (%s)", exc)
