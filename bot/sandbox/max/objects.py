"""The MAX emulator's objects: a message as MAX keeps it, an uploaded file, an injected fault."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import web

BOT_ID = 900
TOKEN = "max-test-token"  # noqa: S105 - the local server's made-up token


@dataclass
class MaxMessage:
    mid: str
    chat: tuple[str, int]  # ("user", user id) for a dialog, ("chat", chat id) for a group
    sender: int
    text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_to: str | None = None
    deleted: bool = False
    edits: int = 0

    @property
    def from_bot(self) -> bool:
        return self.sender == BOT_ID

    def buttons(self) -> list[dict[str, Any]]:
        return [
            button
            for a in self.attachments
            if a.get("type") == "inline_keyboard"
            for row in a["payload"]["buttons"]
            for button in row
        ]

    def files(self) -> list[dict[str, Any]]:
        return [a for a in self.attachments if a.get("type") != "inline_keyboard"]


class Uploaded(NamedTuple):
    kind: str  # the type asked for at POST /uploads: image, file, ...
    name: str
    data: bytes


@dataclass
class _Fault:
    method: str
    path: str
    status: int
    times: int
    retry_after: int | None = None
    code: str | None = None


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status, headers=headers)
