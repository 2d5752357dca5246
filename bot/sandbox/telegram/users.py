"""The Telegram emulator's people: a user's message, a button press, blocking the bot, as updates."""

from __future__ import annotations

import itertools
import json
from typing import Any

from bot.sandbox.telegram import objects as tg
from bot.sandbox.telegram.forums import ForumMethods
from bot.sandbox.telegram.spec import UploadedFile
from bot.sandbox.telegram.state import SentMessage


class UserActions(ForumMethods):
    def __init__(self) -> None:
        super().__init__()
        self._callback_ids = itertools.count(4_000_000_000_000_001)

    def block(self, user_id: int) -> None:
        """The user blocked the bot: anything delivered to their private chat now fails with 403."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    # -- acting as users --------------------------------------------------------------------------

    def message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        language_code: str = "ru",
        first_name: str = "Test",
        photo: bool = False,
        document: bool = False,
        voice: bool = False,
        video: bool = False,
        audio: bool = False,
        sticker: bool = False,
        contact_phone: str | None = None,
        location: tuple[float, float] | None = None,
        caption: str | None = None,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        media_group_id: str | None = None,
        file: UploadedFile | None = None,
    ) -> int:
        """Push a user's message as an update; returns the update_id.

        ``file`` gives the photo or document real bytes (and the document its name and type), kept so
        that the bot's getFile and the sandbox page see them.
        """
        sender = self._remember_user(user_id, first_name, language_code)
        chat_id = user_id if chat_id is None else chat_id
        if chat_type == "private" and chat_id < 0:
            chat_type = tg.chat_type_for(chat_id)
        chat = self.chats.setdefault(chat_id, tg.chat(chat_id, chat_type, first_name))
        raw: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": sender,
            "chat": chat,
            "date": tg.now(),
        }
        if message_thread_id is not None:
            raw |= {"message_thread_id": message_thread_id, "is_topic_message": True}
        if reply_to_message_id is not None:
            target = self.find_message(chat_id, reply_to_message_id)
            if target is None:
                raise AssertionError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
            raw["reply_to_message"] = {k: v for k, v in target.raw.items() if k != "reply_to_message"}
        if text is not None:
            raw["text"] = text
            if entities := tg.command_entities(text):
                raw["entities"] = entities
        raw |= _user_media(
            photo=photo, document=document, voice=voice, video=video, audio=audio, sticker=sticker
        )
        if file is not None:
            self._keep_file(raw, file)
        if contact_phone is not None:
            raw["contact"] = {"phone_number": contact_phone, "first_name": first_name, "user_id": user_id}
        if location is not None:
            raw["location"] = {"latitude": location[0], "longitude": location[1]}
        if caption is not None:
            raw["caption"] = caption
        if media_group_id is not None:
            raw["media_group_id"] = media_group_id
        visible = text if text is not None else caption
        self._store(
            SentMessage(raw["message_id"], chat_id, "user", visible, {}, raw["date"], raw=raw, from_bot=False)
        )
        return self._enqueue({"message": raw})

    def _keep_file(self, raw: dict[str, Any], file: UploadedFile) -> None:
        size = len(file.content)
        if "photo" in raw:
            largest = raw["photo"][-1]  # the size a bot downloads; the smaller ones are previews
            largest["file_size"] = size
        elif "document" in raw:
            largest = raw["document"]
            largest |= {"file_name": file.filename, "mime_type": file.content_type, "file_size": size}
        else:
            raise ValueError("only a photo or a document carries a file")
        self.files[largest["file_id"]] = file.content

    def _remember_user(self, user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
        self.users[user_id] = tg.user(user_id, first_name, language_code)
        return self.users[user_id]

    def last_user_message_id(self, chat_id: int) -> int:
        history = self.user_messages.get(chat_id)
        if not history:
            raise AssertionError(f"no user messages in chat {chat_id}")
        return history[-1].message_id

    def callback(self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None) -> int:
        """Press an inline button: pushes a callback_query for a bot message; returns the update_id."""
        chat_id = user_id if chat_id is None else chat_id
        msg = self.find_message(chat_id, message_id)
        if msg is None or not msg.from_bot or msg.deleted:
            raise AssertionError(f"no live bot message {message_id} in chat {chat_id} to press a button on")
        query_id = str(next(self._callback_ids))
        self.issued_callbacks.add(query_id)
        sender = self.users.get(user_id) or self._remember_user(user_id, "Test", "ru")
        query = {
            "id": query_id,
            "from": sender,
            "message": msg.raw,
            "chat_instance": f"-{abs(chat_id) * 7919 % 10**18 + 1}",
            "data": data,
        }
        return self._enqueue({"callback_query": query})

    def my_chat_member(self, user_id: int, status: str = "kicked", *, chat_id: int | None = None) -> int:
        """The user changed the bot's membership: in their private chat ``kicked`` means blocked.

        With ``chat_id`` of a group the user added (``member``/``administrator``) or removed
        (``left``/``kicked``) the bot there.
        """
        sender = self.users.get(user_id) or self._remember_user(user_id, "Test", "ru")
        chat_id = user_id if chat_id is None else chat_id
        if chat_id == user_id and status == "kicked":
            self.block(user_id)
        elif chat_id == user_id and status == "member":
            self.unblock(user_id)
        self.member_status[(chat_id, tg.BOT_ID)] = status
        chat = self.chats.setdefault(chat_id, tg.chat(chat_id, None, sender["first_name"]))
        return self._enqueue({"my_chat_member": tg.chat_member_update(chat, sender, status)})

    def push_update(self, raw: dict[str, Any]) -> int:
        return self._enqueue(raw)

    def repeat_update(self, update_id: int) -> int:
        """Deliver an already delivered update again with the same update_id (a duplicate)."""
        if update_id not in self.all_updates:
            raise AssertionError(f"update {update_id} was never pushed")
        return self._enqueue(json.loads(json.dumps(self.all_updates[update_id])), forced=True)

    def age_message(self, chat_id: int, message_id: int, hours: float) -> None:
        msg = self.find_message(chat_id, message_id)
        if msg is None:
            raise AssertionError(f"no message {message_id} in chat {chat_id}")
        msg.date -= int(hours * 3600)
        msg.raw["date"] = msg.date


def _user_media(
    *, photo: bool, document: bool, voice: bool, video: bool, audio: bool, sticker: bool
) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if photo:
        content["photo"] = tg.photo_sizes()
    for kind, wanted in (
        ("document", document),
        ("voice", voice),
        ("video", video),
        ("audio", audio),
        ("sticker", sticker),
    ):
        if wanted:
            content[kind] = tg.media(kind)
    return content
