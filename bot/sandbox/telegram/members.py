"""Group members coming and going, as the Bot API tells a bot: the ``left_chat_member`` service
message every member of a group sees, and ``chat_member`` updates, which Telegram sends only to a
bot that is an admin of the chat (assumed here) and asked for them in ``allowed_updates`` (the
queue drops them otherwise, as Telegram does)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.telegram import objects as tg
from bot.sandbox.telegram.forums import ForumMethods
from bot.sandbox.telegram.state import SentMessage


class MemberUpdates(ForumMethods):
    def _person(self, user_id: int) -> dict[str, Any]:
        return self.users.setdefault(user_id, tg.user(user_id))

    def leave(self, chat_id: int, user_id: int, *, by: int | None = None) -> list[int]:
        """``user_id`` leaves the group (or ``by`` removes them): the service message, and a
        ``chat_member`` update; returns both update ids."""
        left = self._person(user_id)
        actor = self._person(by) if by is not None else left
        chat = self.chats.setdefault(chat_id, tg.chat(chat_id))
        message_id, date = self._next_message_id(chat_id), tg.now()
        raw = {"message_id": message_id, "from": actor, "chat": chat, "date": date, "left_chat_member": left}
        self._store(SentMessage(message_id, chat_id, "user", None, {}, date, raw=raw, from_bot=False))
        status = "kicked" if by is not None else "left"
        return [self._enqueue({"message": raw}), self.chat_member(chat_id, user_id, status, by=by)]

    def chat_member(self, chat_id: int, user_id: int, status: str, *, by: int | None = None) -> int:
        """A member's status changes (``left``, ``kicked``, ``member``, ``administrator``)."""
        member = self._person(user_id)
        old = self.member_status.get((chat_id, user_id), "member" if status in ("left", "kicked") else "left")
        self.member_status[(chat_id, user_id)] = status
        update = {
            "chat": self.chats.setdefault(chat_id, tg.chat(chat_id)),
            "from": self._person(by) if by is not None else member,
            "date": tg.now(),
            "old_chat_member": tg.member(member, old),
            "new_chat_member": tg.member(member, status),
        }
        return self._enqueue({"chat_member": update})
