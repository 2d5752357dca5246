"""What the page shows: each pane's messages and buttons, read from the local servers' chat history.

The bot's HTML is rendered as Telegram would: only the tags Telegram's HTML parse mode allows are
kept (links only to http(s) and tg:), everything else is shown as text, so a family's ``<b>`` never
becomes markup in the browser.
"""

from __future__ import annotations

import contextlib
import json
import re
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from bot.sandbox.files import image_type
from bot.sandbox.settings import Person
from bot.sandbox.telegram.emulator import SentMessage, TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator, VkMessage

_KEPT = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-spoiler": "span",
}
# Media whose bytes a Telegram message carries, and the name a download gets when it has none of its own.
_TG_FILES = {
    "photo": "photo.jpg",
    "document": "file",
    "video": "video.mp4",
    "audio": "audio.mp3",
    "voice": "voice.ogg",
    "animation": "animation.mp4",
}
_VK_REF = re.compile(r"(photo|doc|audio_message)(-?\d+)_(\d+)")
_MEDIA = ("photo", "document", "voice", "video", "audio", "sticker", "animation", "contact", "location")


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("http://", "https://", "tg:")):
                self.out.append(f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">')
            else:
                self.out.append("<a>")
            self.open.append("a")
        elif (tag == "span" and ("class", "tg-spoiler") in attrs) or tag == "tg-spoiler":
            self.out.append('<span class="spoiler">')
            self.open.append("span")
        elif tag in _KEPT:
            self.out.append(f"<{_KEPT[tag]}>")
            self.open.append(_KEPT[tag])

    def handle_endtag(self, tag: str) -> None:
        name = "span" if tag == "tg-spoiler" else _KEPT.get(tag, tag)
        if name in self.open:
            # Close in order, so even a badly nested input gives well-formed output.
            while self.open:
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == name:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data))


def safe_html(text: str) -> str:
    """Telegram's HTML subset, kept; anything else escaped."""
    parser = _Sanitizer()
    parser.feed(text)
    parser.close()
    parser.out.extend(f"</{tag}>" for tag in reversed(parser.open))
    return "".join(parser.out)


def telegram_pane(emu: TelegramEmulator, chat_id: int, names: dict[int, str]) -> dict[str, Any]:
    """The chat as the Telegram app shows it: history, inline buttons, the reply keyboard in force."""
    history = sorted(
        [*emu.messages.get(chat_id, []), *emu.user_messages.get(chat_id, [])], key=lambda m: m.message_id
    )
    keyboard: list[list[dict[str, Any]]] | None = None
    shown = []
    for msg in history:
        markup = msg.reply_markup or {}
        if msg.from_bot and "keyboard" in markup:
            keyboard = [
                [b if isinstance(b, dict) else {"text": b} for b in row] for row in markup["keyboard"]
            ]
        elif msg.from_bot and markup.get("remove_keyboard"):
            keyboard = None
        if not msg.deleted:
            shown.append(_telegram_message(msg, names) | {"files": _telegram_files(emu, msg)})
    return {"messages": shown, "keyboard": keyboard}


def _telegram_message(msg: SentMessage, names: dict[int, str]) -> dict[str, Any]:
    body = msg.params.get("text") or msg.params.get("caption")
    if msg.from_bot and isinstance(body, str) and msg.params.get("parse_mode") == "HTML":
        html = safe_html(body)
    else:  # a user's message, plain text, or a copy (copyMessage carries no text of its own)
        html = escape(msg.text or "")
    media = next((kind for kind in _MEDIA if kind in msg.raw or kind in msg.params), None)
    sender = None if msg.from_bot else msg.raw.get("from", {}).get("id")
    author = names.get(sender) if sender is not None else None
    markup = msg.reply_markup or {}
    buttons = [
        [
            {"text": b.get("text", ""), "url": b.get("url"), "value": _value(b.get("callback_data"))}
            for b in row
        ]
        for row in markup.get("inline_keyboard", [])
    ]
    reply = msg.raw.get("reply_to_message") or {}
    return {
        "id": msg.message_id,
        "mine": not msg.from_bot,
        "author": author,
        "html": html,
        "media": media,
        "edited": msg.edits > 0,
        "buttons": buttons,
        "reply_to": _snippet(reply.get("text") or reply.get("caption") or "") if reply else None,
    }


def vk_pane(emu: VkEmulator, peer_id: int) -> dict[str, Any]:
    """The dialog as the VK app shows it: plain text, inline keyboards, the keyboard under the input."""
    keyboard: list[list[dict[str, Any]]] | None = None
    shown = []
    for msg in emu.history.get(peer_id, []):
        if msg.from_bot and msg.keyboard is not None and not msg.keyboard.get("inline"):
            keyboard = _vk_rows(msg) or None
        if not msg.deleted:
            shown.append(_vk_message(emu, msg) | {"files": _vk_files(emu, msg)})
    return {"messages": shown, "keyboard": keyboard}


def _vk_rows(msg: VkMessage) -> list[list[dict[str, Any]]]:
    rows = (msg.keyboard or {}).get("buttons") or []
    return [
        [
            {
                "text": b.get("action", {}).get("label", ""),
                "url": b.get("action", {}).get("link"),
                "value": _value(b.get("action", {}).get("payload")),
            }
            for b in row
        ]
        for row in rows
    ]


def _value(payload: Any) -> str | None:
    """The last part of a button's payload (``p:tr:yes`` -> ``yes``): stable across languages, for tests."""
    if isinstance(payload, str) and payload.startswith('"'):
        with contextlib.suppress(ValueError):
            payload = json.loads(payload)
    return payload.rpartition(":")[2] if isinstance(payload, str) and payload else None


def _vk_message(emu: VkEmulator, msg: VkMessage) -> dict[str, Any]:
    media = None
    kinds = [a.get("type") for a in msg.attachments] or (
        [msg.attachment.split(",")[0]] if msg.attachment else []
    )
    if kinds and kinds[0]:
        media = {"doc": "document", "audio_message": "voice"}.get(str(kinds[0]).rstrip("-0123456789_"))
        media = media or ("photo" if str(kinds[0]).startswith("photo") else "document")
    inline = msg.from_bot and msg.keyboard is not None and msg.keyboard.get("inline")
    reply = None
    if msg.reply_to is not None:
        target = next((m for m in emu.history.get(msg.peer_id, []) if m.message_id == msg.reply_to), None)
        reply = _snippet(target.text) if target is not None else None
    return {
        "id": msg.cmid,
        "mine": not msg.from_bot,
        "author": None,
        "html": escape(msg.text),
        "media": media,
        "edited": msg.edited,
        "buttons": _vk_rows(msg) if inline else [],
        "reply_to": reply,
    }


def file_entry(platform: str, key: str, name: str, content: bytes, *, photo: bool) -> dict[str, Any]:
    """A file as the page links it: a photo that is a picture shows inline, anything else downloads."""
    return {
        "url": f"/files/{platform}/{quote(key, safe='')}?name={quote(name, safe='')}",
        "name": name,
        "size": len(content),
        "image": photo and image_type(content) is not None,
    }


def _telegram_files(emu: TelegramEmulator, msg: SentMessage) -> list[dict[str, Any]]:
    for kind, default in _TG_FILES.items():
        media = msg.raw.get(kind)
        if not media:
            continue
        item = media[-1] if isinstance(media, list) else media  # a photo's largest size
        content = emu.files.get(str(item.get("file_id")))
        if content is None:  # a file whose bytes nobody gave: the tile stays
            return []
        name = str(item.get("file_name") or default)
        return [file_entry("tg", str(item["file_id"]), name, content, photo=kind == "photo")]
    return []


def _vk_files(emu: VkEmulator, msg: VkMessage) -> list[dict[str, Any]]:
    """The files of a VK message: objects a person sent, or the refs the bot attached."""
    named: list[tuple[str, str]] = []
    for obj in msg.attachments:
        kind = obj.get("type")
        if kind in ("photo", "doc", "audio_message"):
            body = obj[kind]
            named.append((f"{kind}{body['owner_id']}_{body['id']}", str(body.get("title") or "")))
    for part in (msg.attachment or "").split(","):
        if found := _VK_REF.match(part.strip()):
            ref = f"{found[1]}{found[2]}_{found[3]}"
            upload = emu.uploaded.get(ref)
            named.append((ref, upload.name if upload is not None else ""))
    files = []
    for ref, title in named:
        content = emu.file_content(ref)
        if content is not None:
            photo = ref.startswith("photo")
            name = title or ("photo.jpg" if photo else "file")
            files.append(file_entry("vk", ref, name, content, photo=photo))
    return files


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return escape(text[:60] + ("…" if len(text) > 60 else ""))


def version(tg: TelegramEmulator, vk: VkEmulator) -> str:
    """Changes whenever anything a pane shows may have changed (a call, an update, an edit)."""
    return json.dumps([len(tg.calls), len(tg.all_updates), len(vk.calls), len(vk.events)])


def group_names(coordinators: tuple[Person, ...]) -> dict[int, str]:
    return {p.user_id: p.name for p in coordinators}
