"""The MAX family's pane: the dialog as the MAX app shows it, read from the MAX emulator's history.

MAX has no keyboard under the input field: every button is on a message (callback buttons, ``message``
buttons that send their label, the contact button). The bot's text is MAX's ``html`` format, shown
through the same sanitizer as Telegram's; a person's own words are always plain text.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.max.objects import MaxMessage
from bot.sandbox.view import safe_html

_MEDIA = {"image": "photo", "file": "document", "audio": "voice", "video": "video", "contact": "contact"}


def message_id(mid: str) -> int:
    """The page's number for an emulator mid (``mid.<hex counter>``)."""
    return int(mid.removeprefix("mid."), 16)


def mid_of(number: int) -> str:
    return f"mid.{number:032x}"


def max_pane(emu: MaxEmulator, user_id: int) -> dict[str, Any]:
    shown = [_message(emu, m) for m in emu.in_dialog(user_id) if not m.deleted]
    return {"messages": shown, "keyboard": None}


def _message(emu: MaxEmulator, msg: MaxMessage) -> dict[str, Any]:
    html = safe_html(msg.text) if msg.from_bot else escape(msg.text)
    kinds = [str(a.get("type")) for a in msg.files()]
    reply = None
    if msg.reply_to is not None and msg.reply_to in emu.messages:
        text = " ".join(emu.messages[msg.reply_to].text.split())
        reply = escape(text[:60] + ("…" if len(text) > 60 else ""))
    return {
        "id": message_id(msg.mid),
        "mine": not msg.from_bot,
        "author": None,
        "html": html,
        "media": _MEDIA.get(kinds[0], "document") if kinds else None,
        "edited": msg.edits > 0,
        "buttons": rows(msg),
        "reply_to": reply,
    }


def rows(msg: MaxMessage) -> list[list[dict[str, Any]]]:
    keyboards = [a for a in msg.attachments if a.get("type") == "inline_keyboard"]
    found = keyboards[0]["payload"]["buttons"] if keyboards else []
    return [
        [
            {
                "text": b.get("text", ""),
                "url": b.get("url") if b.get("type") == "link" else None,
                "value": _value(b.get("payload")) if b.get("type") == "callback" else None,
            }
            for b in row
        ]
        for row in found
    ]


def _value(payload: Any) -> str | None:
    """The last part of a callback payload (``p:tr:yes`` -> ``yes``): stable across languages."""
    return payload.rpartition(":")[2] if isinstance(payload, str) and payload else None


def version(emu: MaxEmulator) -> str:
    return json.dumps(
        [len(emu.calls), len(emu.messages), sum(m.edits + m.deleted for m in emu.messages.values())]
    )
