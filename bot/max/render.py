"""Neutral screens -> MAX message bodies with inline keyboards; MAX messages -> neutral events.

MAX limits (dev.max.ru, "Клавиатура для чат-бота"): a message is at most 4000 characters; an inline
keyboard holds at most 210 buttons in 30 rows, at most 7 buttons in a row (3 when the row has a link
or a contact button); a label is at most 128 characters, a callback payload at most 1024. MAX has no
keyboard under the input field: Telegram's reply buttons (answers the engine reads as typed text)
become ``message`` buttons, which send their label as the person's own message. A screen with more
buttons than one keyboard holds continues in further messages, never cut.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from bot.text import shorten, split_text
from dialogs.primitives import Button, Event, EventKind, Payload, Screen, text_event
from dialogs.state import Attachment
from handlers.flood import urgent_input
from storage.vocabulary import AttachmentKind

TEXT_LIMIT = 4000
ROW_BUTTONS, ROW_SPECIAL = 7, 3
KEYBOARD_ROWS, KEYBOARD_BUTTONS = 30, 210
LABEL_LIMIT = 128
MORE = "⬇️"  # the text of a message that only carries the rest of a screen's buttons
SPECIAL = frozenset({"link", "request_contact", "request_geo_location"})
_KINDS = {
    "image": AttachmentKind.PHOTO,
    "file": AttachmentKind.DOCUMENT,
    "audio": AttachmentKind.VOICE,
    "video": AttachmentKind.VIDEO,
}
_TEL = re.compile(r"^TEL[^:]*:(.+)$", re.MULTILINE)


def message_number(mid: str) -> int:
    """MAX's text message id as the integer the rest of the bot keeps (positive, within 63 bits)."""
    return int.from_bytes(hashlib.blake2b(mid.encode(), digest_size=8).digest(), "big") >> 2


@dataclass(frozen=True)
class Part:
    """One MAX message of a rendered screen: ``NewMessageBody`` without the link."""

    text: str
    rows: list[list[dict[str, Any]]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        attachments = [keyboard(self.rows)] if self.rows else []
        return {"text": self.text, "format": "html", "attachments": attachments}


def keyboard(rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {"type": "inline_keyboard", "payload": {"buttons": rows}}


def render(screen: Screen) -> list[Part]:
    """The screen as MAX messages: text in our HTML subset (MAX's ``html`` format), split at 4000
    characters; the buttons on the last chunk, further keyboards in messages of their own."""
    chunks = split_text(screen.text, TEXT_LIMIT)
    pages = _pages(rows_of(screen))
    if not pages:
        return [Part(text) for text in chunks]
    parts = [Part(text) for text in chunks[:-1]]
    parts.append(Part(chunks[-1], pages[0]))
    parts += [Part(MORE, page) for page in pages[1:]]
    return parts


def rows_of(screen: Screen) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = []
    for row in screen.buttons:
        rows += _split_row([b for b in (_button(button) for button in row) if b is not None])
    if screen.request_contact:
        rows.append([{"type": "request_contact", "text": _label(screen.request_contact)}])
    labels = [{"type": "message", "text": _label(label)} for label in screen.reply_buttons]
    rows += [labels[i : i + 2] for i in range(0, len(labels), 2)]
    return rows


def _button(button: Button) -> dict[str, Any] | None:
    if button.url:
        return {"type": "link", "text": _label(button.label), "url": button.url}
    if button.payload is None:
        return None
    return {"type": "callback", "text": _label(button.label), "payload": button.payload.pack()}


def _split_row(buttons: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    width = ROW_SPECIAL if any(b["type"] in SPECIAL for b in buttons) else ROW_BUTTONS
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _label(label: str) -> str:
    return shorten(label, LABEL_LIMIT)


def fits(rows: list[list[dict[str, Any]]]) -> bool:
    return len(rows) <= KEYBOARD_ROWS and sum(len(r) for r in rows) <= KEYBOARD_BUTTONS


def _pages(rows: list[list[dict[str, Any]]]) -> list[list[list[dict[str, Any]]]]:
    pages: list[list[list[dict[str, Any]]]] = []
    for row in rows:
        if not pages or not fits([*pages[-1], row]):
            pages.append([])
        pages[-1].append(row)
    return pages


# ---- incoming ----


def to_events(body: dict[str, Any], sender_id: int) -> list[Event]:
    """A MAX message body as neutral events: one per file (MAX may send several in one message)."""
    text = str(body.get("text") or "")
    events: list[Event] = []
    unsupported: str | None = None
    for raw in body.get("attachments") or []:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "contact":
            phone = contact_phone(raw, sender_id)
            if phone is not None:
                return [Event(kind=EventKind.CONTACT, phone=phone)]
            unsupported = unsupported or "contact"
            continue
        if kind == "inline_keyboard":
            continue
        attachment = attachment_of(raw)
        if attachment is not None:
            events.append(Event(kind=EventKind.MEDIA, attachment=attachment, text="" if events else text))
        elif unsupported is None:
            unsupported = str(kind)
    if events:
        return events
    if text:
        return [text_event(text)]
    if unsupported is not None:
        return [Event(kind=EventKind.UNSUPPORTED, what=unsupported)]
    return [Event(kind=EventKind.TEXT, text="")]


def contact_phone(raw: dict[str, Any], sender_id: int) -> str | None:
    """The phone of a shared contact, only when it is the sender's own (the contact button's)."""
    payload = raw.get("payload") or {}
    owner = (payload.get("max_info") or {}).get("user_id")
    if owner is not None and owner != sender_id:
        return None  # someone else's card: the engine asks for the family's own number
    match = _TEL.search(str(payload.get("vcf_info") or ""))
    return match.group(1).strip() if match else None


def attachment_of(raw: dict[str, Any]) -> Attachment | None:
    kind = _KINDS.get(str(raw.get("type")))
    payload = raw.get("payload")
    if kind is None or not isinstance(payload, dict) or not payload.get("token"):
        return None
    ref = f"max:{raw['type']}:{payload['token']}"
    url = payload.get("url") if isinstance(payload.get("url"), str) else None
    name = raw.get("filename") if isinstance(raw.get("filename"), str) else None
    return Attachment(kind=kind, ref=ref, url=url, name=name)


def attachment_request(attachment: Attachment) -> dict[str, Any] | None:
    """The ``AttachmentRequest`` that sends a MAX file again by its token; None for other platforms'."""
    if not attachment.ref.startswith("max:"):
        return None
    kind, _, token = attachment.ref.removeprefix("max:").partition(":")
    if kind not in _KINDS or not token:
        return None
    return {"type": kind, "payload": {"token": token}}


def payload_of(raw: Any) -> Payload | None:
    return Payload.unpack(raw) if isinstance(raw, str) else None


def urgent_event(update: dict[str, Any]) -> bool:
    """An emergency (an SOS or words of danger typed, the 🆘 pressed): never held back behind a flood."""
    if update.get("update_type") == "message_created":
        return urgent_input(((update.get("message") or {}).get("body") or {}).get("text"), None)
    if update.get("update_type") == "message_callback":
        return urgent_input(None, payload_of((update.get("callback") or {}).get("payload")))
    return False
