"""Messaging Bot API methods of the Telegram emulator: sending, editing and deleting messages."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.sandbox.telegram import objects as tg
from bot.sandbox.telegram.markup import EntityParseError, plain_text
from bot.sandbox.telegram.spec import UploadedFile
from bot.sandbox.telegram.state import MESSAGE_DELETE_WINDOW, SentMessage, ServiceMethods, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
URL_FILE_LIMIT = 20 * 1024 * 1024  # Telegram fetches at most 5 MB for a photo by URL, 20 MB otherwise
# Telegram's servers download a file given by URL; the emulator does so only from this machine (the
# sandbox's VK files, a test's server), so nothing it runs ever reaches the internet.
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_NOT_CONTENT = frozenset(
    {
        "message_id",
        "date",
        "chat",
        "from",
        "reply_markup",
        "reply_to_message",
        "edit_date",
        "forward_origin",
        "message_thread_id",
        "is_topic_message",
        "media_group_id",
    }
)
_MEDIA_METHODS = {
    "sendphoto": "photo",
    "senddocument": "document",
    "sendvoice": "voice",
    "sendvideo": "video",
    "sendaudio": "audio",
    "sendsticker": "sticker",
}


class BotMethods(ServiceMethods):
    # -- sending ----------------------------------------------------------------------------------

    def _visible(self, p: dict[str, Any], key: str, limit: int) -> str | None:
        source = p.get(key)
        if source is None:
            return None
        try:
            text = plain_text(str(source), p.get("parse_mode"))
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        if len(text.encode("utf-16-le")) // 2 > limit:
            raise bad_request("message is too long" if key == "text" else "message caption is too long")
        return text

    @staticmethod
    def _check_markup(markup: Any) -> None:
        for button in tg.inline_buttons(markup if isinstance(markup, dict) else None):
            data = button.get("callback_data")
            if isinstance(data, str) and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")

    def _new_message(self, method: str, p: dict[str, Any], content: dict[str, Any]) -> SentMessage:
        chat_id = self._resolve_chat(p.get("chat_id"))
        self._check_markup(p.get("reply_markup"))
        raw: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": tg.bot_user(),
            "chat": self._chat(chat_id),
            "date": tg.now(),
        }
        if p.get("message_thread_id"):
            raw["message_thread_id"] = p["message_thread_id"]
        reply = p.get("reply_parameters")
        reply_id = reply.get("message_id") if isinstance(reply, dict) else p.get("reply_to_message_id")
        if reply_id:
            target = self.find_message(chat_id, int(reply_id))
            if target is not None and not target.deleted:
                raw["reply_to_message"] = {k: v for k, v in target.raw.items() if k != "reply_to_message"}
            elif not (isinstance(reply, dict) and reply.get("allow_sending_without_reply")):
                raise bad_request("message to be replied not found")
        raw |= content
        markup = p.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            # Telegram echoes only inline keyboards back in the Message object.
            raw["reply_markup"] = markup
        text = content.get("text", content.get("caption"))
        msg = SentMessage(raw["message_id"], chat_id, method, text, dict(p), raw["date"], raw=raw)
        return self._store(msg)

    def _text_content(self, p: dict[str, Any]) -> dict[str, Any]:
        text = self._visible(p, "text", MAX_TEXT)
        if not text or not text.strip():
            raise bad_request("message text is empty")
        content: dict[str, Any] = {"text": text}
        if p.get("entities"):
            content["entities"] = p["entities"]
        return content

    async def _api_sendmessage(self, p: dict[str, Any]) -> Any:
        return self._new_message("sendMessage", p, self._text_content(p)).raw

    def _media_content(
        self, kind: str, value: Any, p: dict[str, Any], fetched: bytes | None = None
    ) -> dict[str, Any]:
        upload = self._upload_of(value, p)
        if upload is None and fetched is not None:
            upload = UploadedFile(kind, urlsplit(str(value)).path.rpartition("/")[2] or kind, fetched)
        filename = upload.filename if upload else None
        if kind == "photo":
            obj: Any = tg.photo_sizes()
            largest = obj[-1]
        else:
            obj = largest = tg.media(kind, file_name=filename)
        if isinstance(value, str) and not value.startswith(("attach://", "http://", "https://")):
            largest["file_id"] = value  # re-sending a known file_id returns that same id
        if upload is not None:
            self.files[largest["file_id"]] = upload.content
            largest["file_size"] = len(upload.content)
        content: dict[str, Any] = {kind: obj}
        caption = self._visible(p, "caption", MAX_CAPTION)
        if caption:
            content["caption"] = caption
        return content

    @staticmethod
    async def _fetched(value: Any) -> bytes | None:
        """The bytes behind a file given by an http(s) URL on this machine, as Telegram would fetch it."""
        if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
            return None
        if urlsplit(value).hostname not in _LOCAL_HOSTS:
            return None
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(value) as response:
                data = await response.content.read(URL_FILE_LIMIT + 1)
                ok = response.status == 200 and len(data) <= URL_FILE_LIMIT
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if not ok:
            raise bad_request("failed to get HTTP URL content")
        return data

    @staticmethod
    def _upload_of(value: Any, p: dict[str, Any]) -> UploadedFile | None:
        if isinstance(value, UploadedFile):
            return value
        if isinstance(value, str) and value.startswith("attach://"):
            part = p.get(value.removeprefix("attach://"))
            return part if isinstance(part, UploadedFile) else None
        return None

    async def _send_media(self, method: str, p: dict[str, Any]) -> Any:
        kind = _MEDIA_METHODS[method.lower()]
        fetched = await self._fetched(p.get(kind))
        return self._new_message(method, p, self._media_content(kind, p.get(kind), p, fetched)).raw

    async def _api_sendphoto(self, p: dict[str, Any]) -> Any:
        return await self._send_media("sendPhoto", p)

    async def _api_senddocument(self, p: dict[str, Any]) -> Any:
        return await self._send_media("sendDocument", p)

    async def _api_sendvoice(self, p: dict[str, Any]) -> Any:
        return await self._send_media("sendVoice", p)

    async def _api_sendvideo(self, p: dict[str, Any]) -> Any:
        return await self._send_media("sendVideo", p)

    async def _api_sendaudio(self, p: dict[str, Any]) -> Any:
        return await self._send_media("sendAudio", p)

    async def _api_sendsticker(self, p: dict[str, Any]) -> Any:
        return await self._send_media("sendSticker", p)

    async def _api_sendmediagroup(self, p: dict[str, Any]) -> Any:
        items = p.get("media")
        if not isinstance(items, list) or not 2 <= len(items) <= 10:
            raise bad_request("wrong number of media items in the album, must be 2-10")
        group_id = str(next(self._group_seq))
        result = []
        for item in items:
            item_params = {k: v for k, v in p.items() if k != "media"} | {
                "caption": item.get("caption"),
                "parse_mode": item.get("parse_mode"),
                "media": item,
            }
            fetched = await self._fetched(item.get("media"))
            kind = str(item.get("type", "photo"))
            content = self._media_content(kind, item.get("media"), item_params, fetched)
            content["media_group_id"] = group_id
            result.append(self._new_message("sendMediaGroup", item_params, content).raw)
        return result

    async def _api_sendlocation(self, p: dict[str, Any]) -> Any:
        location = {"latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
        return self._new_message("sendLocation", p, {"location": location}).raw

    async def _api_sendcontact(self, p: dict[str, Any]) -> Any:
        contact = {k: p[k] for k in ("phone_number", "first_name", "last_name", "user_id") if k in p}
        return self._new_message("sendContact", p, {"contact": contact}).raw

    def _source(self, p: dict[str, Any], what: str) -> SentMessage:
        source = self.find_message(self._resolve_chat(p.get("from_chat_id")), int(p.get("message_id") or 0))
        if source is None or source.deleted:
            raise bad_request(f"message to {what} not found")
        return source

    async def _api_copymessage(self, p: dict[str, Any]) -> Any:
        source = self._source(p, "copy")
        content = {k: v for k, v in source.raw.items() if k not in _NOT_CONTENT}
        if "caption" in p:
            content["caption"] = self._visible(p, "caption", MAX_CAPTION)
        sent = self._new_message("copyMessage", p, content)
        return {"message_id": sent.message_id}

    async def _api_forwardmessage(self, p: dict[str, Any]) -> Any:
        source = self._source(p, "forward")
        content = {k: v for k, v in source.raw.items() if k not in _NOT_CONTENT}
        content["forward_origin"] = {"type": "user", "sender_user": source.raw["from"], "date": source.date}
        return self._new_message("forwardMessage", p, content).raw

    async def _api_sendchataction(self, p: dict[str, Any]) -> Any:
        self._resolve_chat(p.get("chat_id"))
        return True

    # -- editing and deleting ---------------------------------------------------------------------

    def _editable(self, p: dict[str, Any]) -> SentMessage | None:
        if p.get("inline_message_id"):
            return None
        msg = self.find_message(self._resolve_chat(p.get("chat_id")), int(p.get("message_id") or 0))
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _apply_edit(self, msg: SentMessage, changes: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        markup = p.get("reply_markup")
        if all(msg.raw.get(k) == v for k, v in changes.items()) and markup == msg.raw.get("reply_markup"):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        self._check_markup(markup)
        for key, value in changes.items():
            if value is None:
                msg.raw.pop(key, None)
            else:
                msg.raw[key] = value
        msg.raw["edit_date"] = tg.now()
        # params keep the request's source form (e.g. HTML), like the original send.
        msg.params |= {
            k: p[k] for k in ("text", "caption", "parse_mode", "entities", "caption_entities") if k in p
        }
        if markup is None:
            msg.raw.pop("reply_markup", None)
            msg.params.pop("reply_markup", None)
        else:
            msg.raw["reply_markup"] = msg.params["reply_markup"] = markup
        msg.text = msg.raw.get("text", msg.raw.get("caption"))
        msg.edits += 1
        return msg.raw

    async def _api_editmessagetext(self, p: dict[str, Any]) -> Any:
        msg = self._editable(p)
        if msg is None:
            return True
        if "text" not in msg.raw:
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(msg, self._text_content(p), p)

    async def _api_editmessagecaption(self, p: dict[str, Any]) -> Any:
        msg = self._editable(p)
        if msg is None:
            return True
        if "text" in msg.raw:
            raise bad_request("there is no caption in the message to edit")
        return self._apply_edit(msg, {"caption": self._visible(p, "caption", MAX_CAPTION)}, p)

    async def _api_editmessagereplymarkup(self, p: dict[str, Any]) -> Any:
        msg = self._editable(p)
        if msg is None:
            return True
        return self._apply_edit(msg, {}, p)

    def _delete(self, chat_id: int, message_id: int) -> str | None:
        """Delete one message; returns the reason it cannot be deleted, if any."""
        msg = self.find_message(chat_id, message_id)
        if msg is None or msg.deleted:
            return "message to delete not found"
        if time.time() - msg.date >= MESSAGE_DELETE_WINDOW:
            return "message can't be deleted"
        msg.deleted = True
        self.deleted.setdefault(chat_id, set()).add(message_id)
        return None

    async def _api_deletemessage(self, p: dict[str, Any]) -> Any:
        problem = self._delete(self._resolve_chat(p.get("chat_id")), int(p.get("message_id") or 0))
        if problem:
            raise bad_request(problem)
        return True

    async def _api_deletemessages(self, p: dict[str, Any]) -> Any:
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        if len(ids) > 100:
            raise bad_request("too many message identifiers specified")
        chat_id = self._resolve_chat(p.get("chat_id"))
        for message_id in ids:
            # Telegram skips messages it cannot delete and still answers true.
            self._delete(chat_id, int(message_id))
        return True
