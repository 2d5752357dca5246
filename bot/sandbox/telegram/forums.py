"""Forum supergroups for the Bot API emulator: topics created and renamed by the bot."""

from __future__ import annotations

import itertools
from typing import Any

from bot.sandbox.telegram.methods import BotMethods
from bot.sandbox.telegram.state import ApiError


class ForumMethods(BotMethods):
    def __init__(self) -> None:
        super().__init__()
        self.forums: set[int] = set()  # chat ids that are forum supergroups
        self.topics: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, thread) -> topic
        self._thread_ids = itertools.count(1000)

    def _forum(self, p: dict[str, Any]) -> int:
        chat_id = int(p["chat_id"])
        if chat_id not in self.forums:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        return chat_id

    async def _api_createforumtopic(self, p: dict[str, Any]) -> Any:
        chat_id = self._forum(p)
        name = str(p["name"])
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        thread = next(self._thread_ids)
        topic = {"message_thread_id": thread, "name": name, "icon_color": 7322096}
        self.topics[(chat_id, thread)] = topic
        return topic

    async def _api_editforumtopic(self, p: dict[str, Any]) -> Any:
        chat_id = self._forum(p)
        topic = self.topics.get((chat_id, int(p["message_thread_id"])))
        if topic is None:
            raise ApiError(400, "Bad Request: TOPIC_ID_INVALID")
        if "name" in p:
            if topic["name"] == p["name"]:
                raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
            topic["name"] = str(p["name"])
        return True
