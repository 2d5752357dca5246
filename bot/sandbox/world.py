"""The simulated people: what each pane's user does, turned into updates of the local servers."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from bot.sandbox import view
from bot.sandbox.files import UPLOAD_LIMIT, image_type, sample_photo
from bot.sandbox.max import view as max_view
from bot.sandbox.max.emulator import MaxEmulator, MaxUser
from bot.sandbox.settings import (
    ADMIN,
    COORDINATORS,
    GROUP_ID,
    GROUP_TITLE,
    MAX_FAMILY,
    TG_FAMILY,
    VK_FAMILY,
)
from bot.sandbox.telegram import objects as tg
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.telegram.spec import UploadedFile
from bot.sandbox.vk.emulator import VkEmulator, VkUser

PANES = ("tg_family", "vk_family", "max_family", "group", "admin")
SAMPLE_PHONE = "+79001234567"
# What a MAX family's "photo" and "file" carry (the MAX server keeps them at a link, as MAX's CDN does).
SAMPLE_PHOTO = b"\xff\xd8\xff\xe0 sandbox photo"
SAMPLE_DOCUMENT = b"%PDF-1.4 sandbox document"
VK_LANG = {"ru": 0, "en": 3}


class ActionError(ValueError):
    """The page asked for something the pane cannot do (a button that is gone, an unknown pane)."""


@dataclass
class Act:
    """One action from the page; ``kind`` is text, press, contact, photo, document, block or start (VK)."""

    pane: str
    kind: str
    text: str = ""
    message: int | None = None  # the message a button is on (None: the keyboard under the input)
    row: int = 0
    col: int = 0
    reply_to: int | None = None
    coordinator: int = COORDINATORS[0].user_id
    lang: str = "ru"
    file: UploadedFile | None = None  # the photo or file the person picked (a sample if none)

    @classmethod
    def parse(cls, raw: Any) -> Act:
        if not isinstance(raw, dict):
            raise ActionError("not an object")
        act = cls(
            pane=str(raw.get("pane", "")),
            kind=str(raw.get("kind", "")),
            text=str(raw.get("text") or "")[:4096],
            message=_int_or_none(raw.get("message")),
            row=_int_or_none(raw.get("row")) or 0,
            col=_int_or_none(raw.get("col")) or 0,
            reply_to=_int_or_none(raw.get("reply_to")),
            coordinator=_int_or_none(raw.get("coordinator")) or COORDINATORS[0].user_id,
            lang="en" if raw.get("lang") == "en" else "ru",
            file=_file(raw.get("file")),
        )
        if act.kind in ("photo", "document") and act.file is None:
            act.file = _sample(act.kind)
        if act.kind == "photo" and act.file is not None and image_type(act.file.content) is None:
            raise ActionError("this file is not a picture: send it as a file")
        if act.pane not in PANES:
            raise ActionError(f"unknown pane {act.pane!r}")
        if act.pane == "group" and act.coordinator not in {c.user_id for c in COORDINATORS}:
            raise ActionError("unknown coordinator")
        return act


def _file(raw: Any) -> UploadedFile | None:
    """``{"name", "type", "data": base64}`` from the page's file picker."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), str):
        raise ActionError("a file is {name, type, data}")
    if len(raw["data"]) > UPLOAD_LIMIT * 4 // 3 + 4:
        raise ActionError(f"the file is over {UPLOAD_LIMIT // 1024 // 1024} MB")
    try:
        content = base64.b64decode(raw["data"], validate=True)
    except (binascii.Error, ValueError):
        raise ActionError("the file's data is not base64") from None
    if not content:
        raise ActionError("the file is empty")
    name = str(raw.get("name") or "file").replace("/", "_").replace("\\", "_")[-120:]
    mime = str(raw.get("type") or "application/octet-stream")[:100]
    return UploadedFile("file", name, content, mime)


def _sample(kind: str) -> UploadedFile:
    if kind == "photo":
        return UploadedFile("photo", "photo.png", sample_photo(), "image/png")
    text = "Справка для примера: так выглядит документ, который отправила семья.\n".encode()
    return UploadedFile("document", "справка.txt", text, "text/plain")


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ActionError(f"{value!r} is not a number") from None


class World:
    """The people of the page, acting on the Telegram, VK and MAX servers."""

    def __init__(self, telegram: TelegramEmulator, vk: VkEmulator, max_emu: MaxEmulator) -> None:
        self.telegram = telegram
        self.vk = vk
        self.max = max_emu
        self.names = view.group_names(COORDINATORS) | {
            ADMIN.user_id: ADMIN.name,
            TG_FAMILY.user_id: TG_FAMILY.name,
        }
        telegram.chats[GROUP_ID] = tg.chat(GROUP_ID, "supergroup") | {"title": GROUP_TITLE}
        # Known by name from the start: a coordinator's first press already signs the card with it.
        for person in (*COORDINATORS, ADMIN, TG_FAMILY):
            telegram._remember_user(person.user_id, person.name, "ru")
        self.blocked: dict[str, bool] = {"tg_family": False, "vk_family": False, "max_family": False}

    # -- reading ----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        panes = {
            "tg_family": view.telegram_pane(self.telegram, TG_FAMILY.user_id, {}),
            "vk_family": view.vk_pane(self.vk, VK_FAMILY.user_id),
            "max_family": max_view.max_pane(self.max, MAX_FAMILY.user_id),
            "group": view.telegram_pane(self.telegram, GROUP_ID, self.names),
            "admin": view.telegram_pane(self.telegram, ADMIN.user_id, {}),
        }
        for pane, blocked in self.blocked.items():
            panes[pane]["blocked"] = blocked
        return {
            "panes": panes,
            "coordinators": [{"id": c.user_id, "name": c.name} for c in COORDINATORS],
            "version": self.version(),
        }

    def version(self) -> str:
        """Changes whenever anything a pane shows may have changed."""
        return view.version(self.telegram, self.vk) + max_view.version(self.max)

    # -- acting -----------------------------------------------------------------------------------

    async def act(self, act: Act) -> None:
        if act.pane == "vk_family":
            await self._vk(act)
        elif act.pane == "max_family":
            await self._max(act)
        else:
            self._telegram(act)

    def _telegram(self, act: Act) -> None:
        emu = self.telegram
        user, chat = self._tg_person(act)
        group = {"chat_id": GROUP_ID, "chat_type": "supergroup"} if act.pane == "group" else {}
        common: dict[str, Any] = {
            "language_code": act.lang,
            "first_name": self.names.get(user, "Test"),
            **group,
        }
        if act.reply_to is not None:
            common["reply_to_message_id"] = act.reply_to
        if act.kind == "text":
            if not act.text.strip():
                raise ActionError("empty message")
            emu.message(user, act.text, **common)
        elif act.kind == "contact":
            emu.message(user, contact_phone=SAMPLE_PHONE, **common)
        elif act.kind in ("photo", "document"):
            emu.message(
                user,
                caption=act.text or None,
                photo=act.kind == "photo",
                document=act.kind == "document",
                file=act.file,
                **common,
            )
        elif act.kind == "block" and act.pane == "tg_family":
            self.blocked[act.pane] = not self.blocked[act.pane]
            emu.my_chat_member(user, "kicked" if self.blocked[act.pane] else "member")
        elif act.kind == "press":
            self._tg_press(act, user, chat, common)
        else:
            raise ActionError(f"{act.kind!r} is not something this pane can do")

    def _tg_person(self, act: Act) -> tuple[int, int]:
        if act.pane == "group":
            return act.coordinator, GROUP_ID
        user = TG_FAMILY.user_id if act.pane == "tg_family" else ADMIN.user_id
        return user, user

    def _tg_press(self, act: Act, user: int, chat: int, common: dict[str, Any]) -> None:
        emu = self.telegram
        pane = view.telegram_pane(emu, chat, self.names)
        if act.message is None:
            button = _pick(pane["keyboard"] or [], act.row, act.col)
            common.pop("reply_to_message_id", None)
            if button.get("request_contact"):
                emu.message(user, contact_phone=SAMPLE_PHONE, **common)
            else:
                emu.message(user, str(button["text"]), **common)
            return
        msg = emu.find_message(chat, act.message)
        if msg is None or msg.deleted or not msg.from_bot:
            raise ActionError("that message is gone")
        rows = (msg.reply_markup or {}).get("inline_keyboard", [])
        button = _pick(rows, act.row, act.col)
        if "callback_data" not in button:
            raise ActionError("a link button: the page opens it itself")
        emu.callback(user, msg.message_id, str(button["callback_data"]), chat_id=chat)

    async def _vk(self, act: Act) -> None:
        user = self._vk_user(act.lang)
        if act.kind == "text":
            if not act.text.strip():
                raise ActionError("empty message")
            await user.write(act.text, reply_to=act.reply_to)
        elif act.kind == "start":  # VK's own "Начать" button of a new dialog
            await user.start()
        elif act.kind in ("photo", "document"):
            file = act.file or _sample(act.kind)
            if act.kind == "photo":
                attachment = user.photo(file.content)
            else:
                attachment = user.doc(file.filename, file.content)
            await user.write(act.text, attachments=[attachment], reply_to=act.reply_to)
        elif act.kind == "block":
            self.blocked[act.pane] = not self.blocked[act.pane]
            kind = "message_deny" if self.blocked[act.pane] else "message_allow"
            self.vk.push_event(kind, {"user_id": user.user_id, "key": ""})
        elif act.kind == "press":
            self._vk_press(act, user)
        else:
            raise ActionError(f"{act.kind!r} is not something this pane can do")

    def _vk_user(self, lang: str) -> VkUser:
        user = self.vk.users.get(VK_FAMILY.user_id)
        if user is None:
            user = self.vk.user(VK_FAMILY.user_id, first_name=VK_FAMILY.name, lang_id=VK_LANG[lang])
        user.lang_id = VK_LANG[lang]
        return user

    def _vk_press(self, act: Act, user: VkUser) -> None:
        if act.message is None:
            keyboard = view.vk_pane(self.vk, user.user_id)["keyboard"]
            if not keyboard:
                raise ActionError("no keyboard is shown")
            holder = next(
                m
                for m in reversed(self.vk.sent_to(user.user_id))
                if m.keyboard is not None and not m.keyboard.get("inline")
            )
        else:
            try:
                holder = self.vk.find(user.user_id, cmid=act.message)
            except LookupError:
                raise ActionError("that message is gone") from None
            if holder.deleted or not holder.from_bot:
                raise ActionError("that message is gone")
        rows = (holder.keyboard or {}).get("buttons") or []
        action = _pick(rows, act.row, act.col).get("action", {})
        button = {
            "type": action.get("type"),
            "label": action.get("label", ""),
            "payload": action.get("payload"),
        }
        if button["type"] not in ("callback", "text"):
            raise ActionError("a link button: the page opens it itself")
        user._press(holder, button)

    async def _max(self, act: Act) -> None:
        user = self.max.user(
            MAX_FAMILY.user_id, locale="en-US" if act.lang == "en" else "ru-RU", name=MAX_FAMILY.name
        )
        reply_to = max_view.mid_of(act.reply_to) if act.reply_to is not None else None
        if reply_to is not None and reply_to not in self.max.messages:
            raise ActionError("that message is gone")
        if act.kind == "text":
            if not act.text.strip():
                raise ActionError("empty message")
            await user.write(act.text, reply_to=reply_to)
        elif act.kind == "start":  # MAX's own "Start" button of a new dialog
            await user.start()
        elif act.kind == "contact":
            await user.write(attachments=[user.contact(SAMPLE_PHONE)])
        elif act.kind in ("photo", "document"):
            attachment = (
                user.file("photo.jpg", SAMPLE_PHOTO, kind="image")
                if act.kind == "photo"
                else user.file("document.pdf", SAMPLE_DOCUMENT)
            )
            await user.write(act.text, attachments=[attachment], reply_to=reply_to)
        elif act.kind == "block":
            self.blocked[act.pane] = not self.blocked[act.pane]
            if self.blocked[act.pane]:
                await user.stop()
            else:  # unblocking in MAX is starting the bot again
                self.max.blocked.discard(user.user_id)
                await user.start()
        elif act.kind == "press":
            await self._max_press(act, user)
        else:
            raise ActionError(f"{act.kind!r} is not something this pane can do")

    async def _max_press(self, act: Act, user: MaxUser) -> None:
        message = self.max.messages.get(max_view.mid_of(act.message)) if act.message is not None else None
        if message is None or message.deleted or not message.from_bot:
            raise ActionError("that message is gone")
        rows = [a for a in message.attachments if a.get("type") == "inline_keyboard"]
        button = _pick(rows[0]["payload"]["buttons"] if rows else [], act.row, act.col)
        kind = button.get("type")
        if kind == "callback":
            await user.press(message, str(button["payload"]))
        elif kind == "message":  # MAX sends the label as the person's own message
            await user.write(str(button.get("text", "")))
        elif kind == "request_contact":
            await user.write(attachments=[user.contact(SAMPLE_PHONE)])
        else:
            raise ActionError("a link button: the page opens it itself")


def _pick(rows: list[list[Any]], row: int, col: int) -> dict[str, Any]:
    try:
        button = rows[row][col]
    except (IndexError, TypeError):
        raise ActionError("no such button") from None
    return button if isinstance(button, dict) else {"text": button}
