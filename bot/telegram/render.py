"""Neutral screens -> Telegram message parameters; Telegram messages -> neutral events."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiogram.types import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.telegram.callbacks import DialogCallback
from dialogs.primitives import Event, EventKind, Screen
from dialogs.state import Attachment
from storage.vocabulary import AttachmentKind

TEXT_LIMIT = 4096
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None


@dataclass(frozen=True)
class Rendered:
    chunks: list[str]
    markup: Markup
    protect: bool


def inline_markup(screen: Screen) -> InlineKeyboardMarkup | None:
    rows = []
    for row in screen.buttons:
        buttons = []
        for button in row:
            if button.url:
                buttons.append(InlineKeyboardButton(text=button.label, url=button.url))
            elif button.payload is not None:
                data = DialogCallback.of(button.payload).pack()
                buttons.append(InlineKeyboardButton(text=button.label, callback_data=data))
        if buttons:
            rows.append(buttons)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def render(screen: Screen) -> Rendered:
    markup: Markup = inline_markup(screen)
    if screen.request_contact or screen.reply_buttons:
        keyboard: list[list[KeyboardButton]] = []
        if screen.request_contact:
            keyboard.append([KeyboardButton(text=screen.request_contact, request_contact=True)])
        labels = list(screen.reply_buttons)
        keyboard += [
            [KeyboardButton(text=label) for label in labels[i : i + 2]] for i in range(0, len(labels), 2)
        ]
        markup = ReplyKeyboardMarkup(keyboard=keyboard, resize_keyboard=True, one_time_keyboard=True)
    elif screen.remove_reply_keyboard and markup is None:
        markup = ReplyKeyboardRemove()
    elif screen.force_reply and markup is None:
        markup = ForceReply(selective=True)
    return Rendered(chunks=split_text(screen.text), markup=markup, protect=screen.protect)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line breaks, in order; a longer line is cut, never inside an HTML entity like &amp;."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for whole_line in text.split("\n"):
        line = whole_line
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while len(line) > limit:
            cut = limit
            amp = line.rfind("&", max(0, limit - 10), limit)
            if amp != -1 and ";" not in line[amp:limit]:
                cut = amp  # an entity would be split: cut before it
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        chunks.append(current)
    return chunks


def strip_html(text: str) -> str:
    """The last resort when Telegram rejects our markup: plain text, nothing lost."""
    plain = re.sub(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>", "", text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_event(message: Message) -> Event:
    """A Telegram message as a neutral event."""
    caption = message.caption or ""
    if message.text is not None:
        text = message.text
        if text.startswith("/") and len(text) > 1:
            name = text[1:].split(maxsplit=1)[0].split("@", 1)[0]
            return Event(kind=EventKind.COMMAND, command=name, text=text)
        return Event(kind=EventKind.TEXT, text=text)
    if message.contact is not None:
        return Event(kind=EventKind.CONTACT, phone=message.contact.phone_number)
    attachment = _attachment(message)
    if attachment is not None:
        return Event(kind=EventKind.MEDIA, attachment=attachment, text=caption)
    if message.sticker is not None:
        return Event(kind=EventKind.UNSUPPORTED, what="sticker")
    if message.location is not None:
        return Event(kind=EventKind.UNSUPPORTED, what="location")
    return Event(kind=EventKind.UNSUPPORTED, what=str(message.content_type))


def _attachment(message: Message) -> Attachment | None:
    if message.photo:
        return Attachment(kind=AttachmentKind.PHOTO, ref=f"tg:{message.photo[-1].file_id}")
    if message.document is not None:
        return Attachment(
            kind=AttachmentKind.DOCUMENT,
            ref=f"tg:{message.document.file_id}",
            name=message.document.file_name,
        )
    for kind, media in (
        (AttachmentKind.VOICE, message.voice),
        (AttachmentKind.AUDIO, message.audio),
        (AttachmentKind.VIDEO, message.video),
        (AttachmentKind.VIDEO_NOTE, message.video_note),
    ):
        if media is not None:
            return Attachment(kind=kind, ref=f"tg:{media.file_id}")
    return None
