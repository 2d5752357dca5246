"""Conversations (``peer_id`` 2000000001 and up, with members) and the upload servers of the VK emulator.

A community bot sees every message of a conversation only when it is an admin there; otherwise VK
delivers just the messages that mention it (``[club77|@name] ...``), which :class:`VkChat` mimics.
Uploads follow VK's flow: ``*.getMessagesUploadServer``, a multipart POST to the ``upload_url``, then
``photos.saveMessagesPhoto`` / ``docs.save`` with what the upload answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.vk import objects as vo
from bot.sandbox.vk.methods import VkMethods
from bot.sandbox.vk.state import CHAT_PEER_START, VkApiError

PHOTO_LIMIT = 50 * 1024 * 1024  # VK's limit for a photo in a message
DOC_LIMIT = 200 * 1024 * 1024


@dataclass
class VkChat:
    """A conversation the community was added to; ``admin`` is whether the bot is an admin there."""

    peer_id: int
    title: str
    admin: bool = True
    members: set[int] = field(default_factory=set)


@dataclass
class Upload:
    """A file posted to an upload server, waiting for its save call."""

    kind: str  # "photo" or "doc"
    name: str
    data: bytes
    peer_id: int


class VkChatMethods(VkMethods):
    def _init_chats(self) -> None:
        self.uploads: dict[str, Upload] = {}
        # Saved files by attachment ref ("photo-77_457239100"): what was uploaded, for assertions.
        self.uploaded: dict[str, Upload] = {}

    def add_chat(self, title: str = "Координаторы", *, admin: bool = True) -> VkChat:
        peer = CHAT_PEER_START + len(self.chats) + 1
        chat = VkChat(peer, title, admin)
        self.chats[peer] = chat
        self.history.setdefault(peer, [])
        return chat

    def kick(self, chat: VkChat, user_id: int, *, by: int | None = None) -> str:
        """``user_id`` leaves the conversation (or ``by`` removes them): VK's service message with
        ``action.type`` ``chat_kick_user``; returns its event_id ("" when the bot is no admin there)."""
        chat.members.discard(user_id)
        return self._service_message(chat, "chat_kick_user", user_id, by if by is not None else user_id)

    def invite(self, chat: VkChat, user_id: int, *, by: int) -> str:
        chat.members.add(user_id)
        return self._service_message(chat, "chat_invite_user", user_id, by)

    def _service_message(self, chat: VkChat, kind: str, member: int, actor: int) -> str:
        message_id, cmid = self._new_ids(chat.peer_id)
        raw = vo.message_object(
            message_id=message_id,
            cmid=cmid,
            peer_id=chat.peer_id,
            from_id=actor,
            text="",
            date=vo.now(),
            version=next(self._versions),
        )
        raw["action"] = {"type": kind, "member_id": member}
        if not chat.admin:
            return ""  # a bot that is no admin of the conversation does not see it
        return self.push_event(
            "message_new", {"message": raw, "client_info": vo.client_info(inline=True, lang_id=0)}
        )

    def mention(self) -> str:
        return f"[club{self.group_id}|@club{self.group_id}]"

    # -- conversations ----------------------------------------------------------------------------

    async def _api_messages_getConversationsById(self, p: dict[str, str]) -> Any:  # noqa: N802
        items = []
        for peer in (int(x) for x in p.get("peer_ids", "").split(",") if x.strip()):
            chat = self.chats.get(peer)
            if chat is None or not chat.admin:
                continue  # VK shows a community only the conversations it administers
            settings = {
                "owner_id": min(chat.members, default=1),
                "title": chat.title,
                "state": "in",
                "members_count": len(chat.members) + 1,
                "admin_ids": [-self.group_id],
                "acl": dict.fromkeys(_ACL, False),
            }
            items.append(
                {
                    "peer": {"id": peer, "type": "chat", "local_id": peer - CHAT_PEER_START},
                    "chat_settings": settings,
                    "can_write": {"allowed": True},
                }
            )
        return {"count": len(items), "items": items}

    async def _api_messages_getByConversationMessageId(self, p: dict[str, str]) -> Any:  # noqa: N802
        peer = int(p["peer_id"])
        self._check_peer(peer)
        items = []
        for cmid in (int(x) for x in p.get("conversation_message_ids", "").split(",") if x.strip()):
            try:
                msg = self.find(peer, cmid=cmid)
            except LookupError:
                continue
            if msg.deleted:
                continue
            from_id = -self.group_id if msg.from_bot else msg.from_id
            items.append(
                vo.message_object(
                    message_id=msg.message_id,
                    cmid=msg.cmid,
                    peer_id=peer,
                    from_id=from_id,
                    text=msg.text,
                    date=msg.date,
                    version=next(self._versions),
                    attachments=list(msg.attachments),
                )
            )
        return {"count": len(items), "items": items}

    # -- uploads ----------------------------------------------------------------------------------

    async def _api_photos_getMessagesUploadServer(self, p: dict[str, str]) -> Any:  # noqa: N802
        return self._upload_server("photo", p)

    async def _api_docs_getMessagesUploadServer(self, p: dict[str, str]) -> Any:  # noqa: N802
        if p.get("type", "doc") not in ("doc", "audio_message", "graffiti"):
            raise VkApiError(100, "type is invalid")
        return self._upload_server("doc", p)

    def _upload_server(self, kind: str, p: dict[str, str]) -> dict[str, Any]:
        peer = int(p.get("peer_id") or 0)
        if not peer:
            self._spec(f"{kind}s: getMessagesUploadServer without peer_id: a community must name the dialog")
        self._check_peer(peer)
        return {
            "upload_url": f"{self.url}/upload/{kind}?peer={peer}",
            "album_id": -3,
            "group_id": self.group_id,
        }

    def receive_upload(self, kind: str, peer: int, field_name: str, name: str, data: bytes) -> dict[str, Any]:
        """The upload server's answer to a multipart POST (the file field is ``photo`` or ``file``)."""
        expected = "photo" if kind == "photo" else "file"
        if field_name != expected:
            return {"error": f"the file must come in the {expected!r} field"}
        if len(data) > (PHOTO_LIMIT if kind == "photo" else DOC_LIMIT):
            return {"error": "file is too big"}
        token = vo.random_hex(24)
        self.uploads[token] = Upload(kind, name, data, peer)
        if kind == "photo":
            return {"server": 841231, "photo": json.dumps([{"token": token}]), "hash": vo.random_hex(32)}
        return {"file": token}

    async def _api_photos_saveMessagesPhoto(self, p: dict[str, str]) -> Any:  # noqa: N802
        try:
            token = json.loads(p["photo"])[0]["token"]
        except (KeyError, ValueError, IndexError, TypeError):
            raise VkApiError(100, "photo is invalid") from None
        if not p.get("server") or not p.get("hash"):
            raise VkApiError(100, "server and hash are required")
        upload = self.uploads.pop(token, None)
        if upload is None or upload.kind != "photo":
            raise VkApiError(100, "photo was not uploaded or is already saved")
        obj = vo.photo(self.url, -self.group_id, self._new_item_id())["photo"]
        self._saved(upload, "photo", obj)
        return [obj]

    async def _api_docs_save(self, p: dict[str, str]) -> Any:
        upload = self.uploads.pop(p.get("file", ""), None)
        if upload is None or upload.kind != "doc":
            raise VkApiError(100, "file was not uploaded or is already saved")
        obj = vo.doc(self.url, -self.group_id, self._new_item_id(), p.get("title") or upload.name)["doc"]
        self._saved(upload, "doc", obj)
        return {"type": "doc", "doc": obj}

    def file_content(self, ref: str) -> bytes | None:
        """The bytes behind an attachment ref (``photo-77_457239100``, ``doc4001_5``), if known."""
        upload = self.uploaded.get(ref)
        return upload.data if upload is not None else self.user_files.get(ref)

    def _saved(self, upload: Upload, kind: str, obj: dict[str, Any]) -> None:
        ref, key = vo.attachment_ref({"type": kind, kind: obj})
        self.known_attachments[ref] = key
        self.uploaded[ref] = upload


_ACL = (
    "can_change_info",
    "can_change_invite_link",
    "can_change_pin",
    "can_invite",
    "can_promote_users",
    "can_see_invite_link",
    "can_moderate",
    "can_copy_chat",
    "can_call",
    "can_use_mass_mentions",
)
