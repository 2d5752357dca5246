"""Neutral screens -> Telegram message parameters; Telegram messages -> neutral events."""

from __future__ import annotations

import functools
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
from bot.text import split_text
from dialogs.primitives import Button, Event, EventKind, Screen, text_event
from dialogs.state import Attachment
from storage.vocabulary import AttachmentKind

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None


@dataclass(frozen=True)
class Rendered:
    chunks: list[str]
    markup: Markup
    protect: bool


def inline_markup(screen: Screen, *, kept: bool = True) -> InlineKeyboardMarkup | None:
    """The screen's buttons as Telegram's inline keyboard. Most screens are the same for everyone
    (the welcome, the menu, each triage question), and building the keyboard's models was 5% of a
    burst's CPU: the last few hundred are kept (aiogram's models are frozen, so sharing is safe).
    ``kept=False`` builds it anew (the benchmark's baseline)."""
    if not kept:
        return _inline_keyboard.__wrapped__(screen.buttons)
    try:
        return _inline_keyboard(screen.buttons)
    except TypeError:  # a payload that cannot be hashed: built anew
        return _inline_keyboard.__wrapped__(screen.buttons)


@functools.lru_cache(maxsize=256)
def _inline_keyboard(button_rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    rows = []
    for row in button_rows:
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


def render(screen: Screen, *, kept: bool = True) -> Rendered:
    markup: Markup = inline_markup(screen, kept=kept)
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


def to_event(message: Message) -> Event:
    """A Telegram message as a neutral event."""
    caption = message.caption or ""
    if message.text is not None:
        return text_event(message.text)
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
