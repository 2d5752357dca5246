"""A simulated person in a private dialog with the community (``peer_id == user_id``), or a member of
a conversation (``peer_id`` 2000000001 and up).

Every action queues one Bots Long Poll event and returns its event_id at once; the methods are
async only so that the call site reads like the user's action it stands for.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.vk import objects as vo
from bot.sandbox.vk.state import VkMessage, VkState

START_PAYLOAD = '{"command":"start"}'


class VkUser:
    def __init__(
        self,
        emulator: VkState,
        user_id: int,
        *,
        first_name: str,
        inline: bool,
        lang_id: int,
        peer_id: int | None = None,
    ) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.peer_id = user_id if peer_id is None else peer_id
        self.first_name = first_name
        self.last_name = "Тестова"
        self.inline = inline
        self.lang_id = lang_id

    @property
    def client_info(self) -> dict[str, Any]:
        return vo.client_info(inline=self.inline, lang_id=self.lang_id)

    def __repr__(self) -> str:
        return f"VkUser({self.user_id}, {self.first_name!r}, inline={self.inline}, lang_id={self.lang_id})"

    # -- writing ----------------------------------------------------------------------------------

    async def start(self, ref: str | None = None) -> str:
        """The "Начать" button of a new dialog; ``ref``: opened by a link ``vk.me/<community>?ref=...``,
        which VK hands over on this message as ``ref`` (and ``ref_source``)."""
        return self._message("Начать", payload=START_PAYLOAD, ref=ref)

    async def write(
        self, text: str = "", *, attachments: list[dict[str, Any]] | None = None, reply_to: int | None = None
    ) -> str:
        """A message; ``reply_to`` is the conversation_message_id of the message replied to."""
        return self._message(text, attachments=attachments, reply_to=reply_to)

    async def sticker(self) -> str:
        return self._message("", attachments=[vo.sticker()])

    def _message(
        self,
        text: str,
        *,
        attachments: list[dict[str, Any]] | None = None,
        payload: str | None = None,
        reply_to: int | None = None,
        ref: str | None = None,
    ) -> str:
        emu = self.emulator
        peer = self.peer_id
        reply_message: dict[str, Any] | None = None
        target: VkMessage | None = None
        if reply_to is not None:
            try:
                target = emu.find(peer, cmid=reply_to)
            except LookupError:
                raise AssertionError(f"no message cmid={reply_to} in dialog {peer} to reply to") from None
            reply_message = {
                "date": target.date,
                "from_id": -emu.group_id if target.from_bot else target.from_id,
                "text": target.text,
                "attachments": list(target.attachments),
                "conversation_message_id": target.cmid,
                "peer_id": peer,
                "id": target.message_id,
            }
        for obj in attachments or []:
            if obj.get("type") in ("photo", "doc", "audio_message"):
                emu._remember_attachment(obj)
        message_id, cmid = emu._new_ids(peer)
        msg = VkMessage(
            peer_id=peer,
            cmid=cmid,
            message_id=message_id,
            text=text,
            from_bot=False,
            from_id=self.user_id,
            date=vo.now(),
            payload=payload,
            attachments=list(attachments or []),
            reply_to=None if target is None else target.message_id,
        )
        emu._add_message(msg)
        emu._mark(peer)
        raw = vo.message_object(
            message_id=message_id,
            cmid=cmid,
            peer_id=peer,
            from_id=self.user_id,
            text=text,
            date=msg.date,
            version=next(emu._versions),
            attachments=msg.attachments,
            payload=payload,
            reply_message=reply_message,
        )
        if ref is not None:
            raw.update(ref=ref, ref_source="link")
        chat = emu.chats.get(peer)
        if chat is not None and not chat.admin and not text.startswith(f"[club{emu.group_id}|"):
            return ""  # a bot that is no admin of the conversation only gets messages that mention it
        return emu.push_event("message_new", {"message": raw, "client_info": self.client_info})

    # -- buttons ----------------------------------------------------------------------------------

    async def press(self, label: str, *, cmid: int | None = None) -> str:
        """Press the button whose label contains ``label`` (an exact label wins).

        Looks on message ``cmid``, or on the latest bot message with a keyboard and then on the
        regular keyboard currently shown.  A callback button pushes ``message_event``; a text button
        a ``message_new`` with the label as text and the button's payload.
        """
        candidates = self._keyboards(cmid)
        for msg in candidates:
            button = _match(msg.buttons(), label)
            if button is not None:
                return self._press(msg, button)
        shown = [[b["label"] for b in m.buttons()] for m in candidates]
        raise AssertionError(f"no button {label!r} for user {self.user_id}; buttons shown: {shown}")

    def _keyboards(self, cmid: int | None) -> list[VkMessage]:
        emu = self.emulator
        if cmid is not None:
            msg = emu.find(self.peer_id, cmid=cmid)
            if msg.deleted or not msg.from_bot:
                raise AssertionError(f"message cmid={cmid} is deleted or not the bot's")
            return [msg]
        sent = emu.sent_to(self.peer_id)
        found = [m for m in reversed(sent) if m.keyboard is not None and not m.deleted][:1]
        # A regular keyboard stays on screen until the bot replaces it (an empty one hides it).
        current = next(
            (m for m in reversed(sent) if m.keyboard is not None and not m.keyboard.get("inline")), None
        )
        if current is not None and current not in found:
            found.append(current)
        return found

    def _press(self, msg: VkMessage, button: dict[str, Any]) -> str:
        if button["type"] == "callback":
            return self._callback(button["payload"], msg.cmid)
        if button["type"] == "text":
            return self._message(button["label"], payload=button["payload"])
        raise AssertionError(f"button {button['label']!r} is {button['type']}: tests do not press links")

    async def press_payload(self, payload: str, *, cmid: int) -> str:
        """A forged callback press with an arbitrary payload, on message ``cmid``."""
        return self._callback(payload, cmid)

    def _callback(self, payload: str | None, cmid: int) -> str:
        obj: dict[str, Any] = {
            "user_id": self.user_id,
            "peer_id": self.peer_id,
            "event_id": vo.random_hex(12),
            "conversation_message_id": cmid,
        }
        if payload is not None:
            # VK hands a callback payload over as the JSON value, not as the string the bot sent.
            try:
                obj["payload"] = json.loads(payload)
            except ValueError:
                obj["payload"] = payload
        self.emulator._mark(self.peer_id)
        return self.emulator.push_event("message_event", obj)

    # -- attachment objects -----------------------------------------------------------------------

    def photo(self, content: bytes | None = None) -> dict[str, Any]:
        """A photo attachment; with ``content`` its links serve those bytes (else filler)."""
        emu = self.emulator
        return self._keep(
            emu._remember_attachment(vo.photo(emu.url, self.user_id, emu._new_item_id())), content
        )

    def doc(self, title: str = "справка.pdf", content: bytes | None = None) -> dict[str, Any]:
        emu = self.emulator
        obj = vo.doc(emu.url, self.user_id, emu._new_item_id(), title)
        if content is not None:
            obj["doc"]["size"] = len(content)
        return self._keep(emu._remember_attachment(obj), content)

    def _keep(self, obj: dict[str, Any], content: bytes | None) -> dict[str, Any]:
        if content is not None:
            self.emulator.user_files[vo.attachment_ref(obj)[0]] = content
        return obj

    def voice(self) -> dict[str, Any]:
        emu = self.emulator
        return emu._remember_attachment(vo.voice(emu.url, self.user_id, emu._new_item_id()))


def _match(buttons: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    wanted = label.casefold()
    exact = [b for b in buttons if b["label"].casefold() == wanted]
    if exact:
        return exact[0]
    partial = [b for b in buttons if wanted in b["label"].casefold()]
    if len(partial) > 1:
        raise AssertionError(f"{label!r} matches several buttons: {[b['label'] for b in partial]}")
    return partial[0] if partial else None
