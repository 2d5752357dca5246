"""Neutral screens -> VK messages with keyboards; VK messages and button presses -> neutral events.

VK limits (https://dev.vk.com/ru/api/bots/development/keyboard): at most 5 buttons in a row; an inline
keyboard holds at most 6 rows and 10 buttons, a regular one 10 rows and 40 buttons; a label is at most
40 characters and a payload at most 255 bytes of JSON. A screen with more buttons than one inline
keyboard holds goes to the regular keyboard (40 buttons); nothing is ever cut.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.text import html_to_plain, shorten, split_text
from dialogs.primitives import Button, Event, EventKind, Payload, Screen, text_event
from dialogs.state import Attachment
from handlers.flood import urgent_input
from storage.vocabulary import AttachmentKind

ROW_BUTTONS = 5
INLINE_ROWS, INLINE_BUTTONS = 6, 10
REGULAR_ROWS, REGULAR_BUTTONS = 10, 40
LABEL_LIMIT = 40
MORE = "⬇️"  # the text of a message that only carries the rest of a screen's buttons
START_PAYLOAD = {"command": "start"}  # VK's own "Начать" button
_MENTION = re.compile(r"\s*\[club(\d+)\|[^\]]*\][\s,]*")


@dataclass(frozen=True)
class ClientInfo:
    """What the person's VK app can show (``client_info`` of their last message)."""

    inline: bool = True
    callback: bool = True

    @classmethod
    def parse(cls, raw: Any) -> ClientInfo:
        if not isinstance(raw, dict):
            return cls()
        actions = raw.get("button_actions") or []
        return cls(inline=bool(raw.get("inline_keyboard", False)), callback="callback" in actions)


@dataclass(frozen=True)
class Part:
    """One VK message of a rendered screen."""

    text: str
    keyboard: str | None


def render(
    screen: Screen, client: ClientInfo, *, regular: bool = False, conversation: bool = False
) -> list[Part]:
    """The screen as VK messages: an inline keyboard when the app shows them and the buttons fit one;
    otherwise (or when ``regular`` asks for it) the regular keyboard under the input field, which holds
    40 buttons. A screen too big even for that continues in further messages, never cut.

    In a ``conversation`` the keyboard is always inline: one under the input field would show every
    member one card's buttons, and could not be edited with the card."""
    chunks = split_text(html_to_plain(screen.text))
    rows = _rows(screen, client)
    if not rows:
        return [Part(text, None) for text in chunks]
    if conversation:
        rows = compact(rows)
        keyboards = [_keyboard(kb, inline=True) for kb in _pages(rows)]
    elif client.inline and not regular and fits_inline(rows):
        keyboards = [_keyboard(rows, inline=True)]
    elif fits_regular(rows):
        keyboards = [_keyboard(rows, inline=False)]
    else:
        keyboards = [_keyboard(kb, inline=client.inline) for kb in _pages(rows)]
    parts = [Part(text, None) for text in chunks[:-1]]
    parts.append(Part(chunks[-1], keyboards[0]))
    parts += [Part(MORE, keyboard) for keyboard in keyboards[1:]]
    return parts


def is_regular(keyboard: str | None) -> bool:
    return keyboard is not None and not json.loads(keyboard).get("inline", False)


def _rows(screen: Screen, client: ClientInfo) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = []
    for row in screen.buttons:
        buttons = [b for b in (_button(button, client) for button in row) if b is not None]
        rows += [buttons[i : i + ROW_BUTTONS] for i in range(0, len(buttons), ROW_BUTTONS)]
    # Telegram's reply keyboard (answers the engine reads as typed text). The share-contact button has
    # no VK equivalent: the engine asks VK users to type the number (Traits.share_contact).
    labels = [_text_button(label, None) for label in screen.reply_buttons]
    rows += [labels[i : i + 2] for i in range(0, len(labels), 2)]
    return rows


def _button(button: Button, client: ClientInfo) -> dict[str, Any] | None:
    if button.url:
        return {"action": {"type": "open_link", "link": button.url, "label": _label(button.label)}}
    if button.payload is None:
        return None
    payload = json.dumps(button.payload.pack())
    if client.callback:
        return {"action": {"type": "callback", "label": _label(button.label), "payload": payload}}
    # No callback buttons in this app: a text button sends its label as a message, with our payload.
    return _text_button(button.label, payload)


def _text_button(label: str, payload: str | None) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "text", "label": _label(label)}
    if payload is not None:
        action["payload"] = payload
    return {"action": action}


def _label(label: str) -> str:
    return shorten(label, LABEL_LIMIT)


def compact(rows: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Rows of one-button and two-button rows merged pairwise, two buttons a row, while there are more
    rows than an inline keyboard holds: the order is kept and nothing is dropped."""
    if len(rows) <= INLINE_ROWS:
        return rows
    merged: list[list[dict[str, Any]]] = []
    for row in rows:
        if merged and len(merged[-1]) + len(row) <= 2:
            merged[-1] = merged[-1] + row
        else:
            merged.append(list(row))
    return merged


def fits_inline(rows: list[list[dict[str, Any]]]) -> bool:
    return len(rows) <= INLINE_ROWS and sum(len(r) for r in rows) <= INLINE_BUTTONS


def fits_regular(rows: list[list[dict[str, Any]]]) -> bool:
    return len(rows) <= REGULAR_ROWS and sum(len(r) for r in rows) <= REGULAR_BUTTONS


def _pages(rows: list[list[dict[str, Any]]]) -> list[list[list[dict[str, Any]]]]:
    """Rows in groups that each fit an inline keyboard, in order."""
    pages: list[list[list[dict[str, Any]]]] = [[]]
    for row in rows:
        if pages[-1] and not fits_inline([*pages[-1], row]):
            pages.append([])
        pages[-1].append(row)
    return pages


def _keyboard(rows: list[list[dict[str, Any]]], *, inline: bool) -> str:
    if inline:
        return json.dumps({"inline": True, "buttons": rows}, ensure_ascii=False)
    # The keyboard under the input field stays until the next screen replaces it.
    return json.dumps({"one_time": False, "buttons": rows}, ensure_ascii=False)


# ---- incoming ----


def payload_of(raw: Any) -> Payload | dict[str, Any] | None:
    """A button payload as VK delivers it (JSON text or an already parsed value)."""
    value = raw
    if isinstance(raw, str):
        # A text button's payload comes as JSON text; a callback press's as the parsed value itself.
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return Payload.unpack(value)
    return None


def to_events(message: dict[str, Any]) -> list[Event]:
    """A VK message as neutral events: one per attachment (VK sends up to ten in one message)."""
    text = str(message.get("text") or "")
    if "payload" in message:
        payload = payload_of(message["payload"])
        if payload == START_PAYLOAD:
            # A start link (vk.me/<community>?ref=...) comes as ``ref`` on the "Start" message:
            # it is handed over like Telegram's ``/start <payload>``; the dialog judges it.
            ref = message.get("ref")
            start = f"/start {ref}" if isinstance(ref, str) and ref.strip() else text
            return [Event(kind=EventKind.COMMAND, command="start", text=start)]
        # A text button of an app without callback buttons: the label came as text, the payload with it.
        return [Event(kind=EventKind.BUTTON, payload=payload if isinstance(payload, Payload) else None)]
    events: list[Event] = []
    unsupported: str | None = None
    for raw in message.get("attachments") or []:
        kind = raw.get("type") if isinstance(raw, dict) else None
        attachment = attachment_of(raw)
        if attachment is not None:
            events.append(Event(kind=EventKind.MEDIA, attachment=attachment, text="" if events else text))
        elif unsupported is None:
            unsupported = "sticker" if kind in {"sticker", "graffiti"} else str(kind)
    if events:
        return events
    if text:
        return [text_event(text)]
    if message.get("geo"):
        return [Event(kind=EventKind.UNSUPPORTED, what="location")]
    if unsupported is not None:
        return [Event(kind=EventKind.UNSUPPORTED, what=unsupported)]
    return [Event(kind=EventKind.TEXT, text="")]


def without_mention(message: dict[str, Any], group_id: int) -> dict[str, Any]:
    """A conversation message that starts by mentioning the bot (``[club77|@help] /bind``), as if
    written without it: a bot that is no admin there only gets such messages."""
    text = str(message.get("text") or "")
    match = _MENTION.match(text)
    if match is None or int(match[1]) != group_id:
        return message
    return {**message, "text": text[match.end() :]}


def replied(message: dict[str, Any]) -> dict[str, Any]:
    """The message replied to: ``reply_message``, or a single forwarded message (some VK apps reply
    in a conversation by forwarding the message with is_reply)."""
    reply = message.get("reply_message")
    if isinstance(reply, dict):
        return reply
    forwarded = message.get("fwd_messages") or []
    if len(forwarded) == 1 and isinstance(forwarded[0], dict):
        return dict(forwarded[0])
    return {}


def attachment_of(raw: Any) -> Attachment | None:
    """One attachment object of a VK message, as a file kept by reference (None: not a file we pass)."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    return _attachment(kind, raw.get(kind) if isinstance(raw, dict) and kind else None)


def _attachment(kind: str | None, obj: Any) -> Attachment | None:
    if not isinstance(obj, dict) or "id" not in obj or "owner_id" not in obj:
        return None
    ref = f"vk:{'doc' if kind == 'doc' else kind}{obj['owner_id']}_{obj['id']}"
    if obj.get("access_key"):
        ref += f"_{obj['access_key']}"
    if kind == "photo":
        sizes = [s for s in obj.get("sizes") or [] if isinstance(s, dict) and s.get("url")]
        biggest = max(sizes, key=lambda s: int(s.get("width", 0)) * int(s.get("height", 0)), default=None)
        return Attachment(kind=AttachmentKind.PHOTO, ref=ref, url=biggest["url"] if biggest else None)
    if kind == "doc":
        return Attachment(kind=AttachmentKind.DOCUMENT, ref=ref, name=obj.get("title"), url=obj.get("url"))
    if kind == "audio_message":
        return Attachment(kind=AttachmentKind.VOICE, ref=ref, url=obj.get("link_ogg"))
    if kind == "video":
        # VK gives no file link for a video: its page, which the coordinators can open.
        return Attachment(
            kind=AttachmentKind.VIDEO, ref=ref, url=f"https://vk.com/video{obj['owner_id']}_{obj['id']}"
        )
    if kind == "audio":
        return Attachment(kind=AttachmentKind.AUDIO, ref=ref, url=obj.get("url"))
    return None


def attachment_ref(attachment: Attachment) -> str | None:
    """The ``attachment`` parameter for messages.send, for files that live in VK."""
    if not attachment.ref.startswith("vk:"):
        return None
    return attachment.ref.removeprefix("vk:")


def urgent_event(raw: dict[str, Any]) -> bool:
    """An emergency (an SOS or words of danger typed, the 🆘 pressed): never held back behind a flood."""
    obj = raw.get("object") or {}
    if raw.get("type") == "message_new":
        message = obj.get("message") or {}
        text, payload = message.get("text"), payload_of(message.get("payload"))
    elif raw.get("type") == "message_event":
        text, payload = None, payload_of(obj.get("payload"))
    else:
        return False
    return urgent_input(text, payload if isinstance(payload, Payload) else None)
