"""Builders for Telegram Bot API JSON objects in the shapes the real server returns.

Kept apart from the emulator so tests can also craft raw updates for ``push_update``.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

BOT_ID = 42
BOT_USERNAME = "family_help_test_bot"
BOT_FIRST_NAME = "Family Help"

_file_seq = itertools.count(1)


def now() -> int:
    return int(time.time())


def bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}


def bot_me() -> dict[str, Any]:
    return {
        **bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def user(user_id: int, first_name: str = "Test", language_code: str | None = "ru") -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "username": f"user{user_id}",
    }
    if language_code:
        obj["language_code"] = language_code
    return obj


def chat_type_for(chat_id: int) -> str:
    # Telegram's id conventions: users are positive, supergroups/channels are -100..., groups negative.
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def chat(chat_id: int, chat_type: str | None = None, first_name: str = "Test") -> dict[str, Any]:
    kind = chat_type or chat_type_for(chat_id)
    if kind == "private":
        return {"id": chat_id, "type": "private", "first_name": first_name, "username": f"user{chat_id}"}
    return {"id": chat_id, "type": kind, "title": f"Test {kind} {chat_id}"}


def chat_full_info(chat_obj: dict[str, Any]) -> dict[str, Any]:
    return {
        **chat_obj,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def new_file_id(kind: str) -> tuple[str, str]:
    """A (file_id, file_unique_id) pair; the kind prefix lets getFile pick a plausible path."""
    n = next(_file_seq)
    return f"{kind}-{n:06d}-AgACAgIAAxkBAAI", f"u{kind[:3]}{n:06d}"


def kind_of_file_id(file_id: str) -> str:
    return file_id.split("-", 1)[0] if "-" in file_id else "document"


def photo_sizes(file_size: int = 20_000) -> list[dict[str, Any]]:
    sizes = []
    for width, height in ((90, 67), (320, 240), (1280, 960)):
        file_id, unique = new_file_id("photo")
        sizes.append(
            {
                "file_id": file_id,
                "file_unique_id": unique,
                "width": width,
                "height": height,
                "file_size": file_size * width // 1280,
            }
        )
    return sizes


def media(kind: str, *, file_name: str | None = None, mime_type: str | None = None) -> dict[str, Any]:
    """One non-photo media object (document, voice, video, audio, sticker)."""
    file_id, unique = new_file_id(kind)
    base: dict[str, Any] = {"file_id": file_id, "file_unique_id": unique}
    if kind == "document":
        base |= {
            "file_name": file_name or "document.pdf",
            "mime_type": mime_type or "application/pdf",
            "file_size": 12_345,
        }
    elif kind == "voice":
        base |= {"duration": 3, "mime_type": "audio/ogg", "file_size": 4_321}
    elif kind == "video":
        base |= {"width": 640, "height": 480, "duration": 5, "mime_type": "video/mp4", "file_size": 99_999}
    elif kind == "audio":
        base |= {
            "duration": 120,
            "performer": "Test",
            "title": "Track",
            "mime_type": "audio/mpeg",
            "file_size": 55_555,
        }
        if file_name:
            base["file_name"] = file_name
    elif kind == "sticker":
        base |= {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "file_size": 7_777,
        }
    else:
        raise ValueError(f"unknown media kind {kind!r}")
    return base


def command_entities(text: str | None) -> list[dict[str, Any]]:
    if not text or not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    # Offsets/lengths are in UTF-16 code units on the Bot API.
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


def member(user_obj: dict[str, Any], status: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"status": status, "user": user_obj}
    if status == "kicked":
        obj["until_date"] = 0
    elif status == "creator":
        obj["is_anonymous"] = False
    elif status == "restricted":
        obj |= {
            "is_member": True,
            "until_date": 0,
            **dict.fromkeys(
                (
                    "can_send_messages",
                    "can_send_audios",
                    "can_send_documents",
                    "can_send_photos",
                    "can_send_videos",
                    "can_send_video_notes",
                    "can_send_voice_notes",
                    "can_send_polls",
                    "can_send_other_messages",
                    "can_add_web_page_previews",
                    "can_react_to_messages",
                    "can_edit_tag",
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                    "can_manage_topics",
                ),
                False,
            ),
        }
    elif status == "administrator":
        obj |= {
            "can_be_edited": False,
            "is_anonymous": False,
            **dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_promote_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_send_welcome_messages",
                ),
                True,
            ),
        }
    return obj


def chat_member_update(chat_obj: dict[str, Any], from_user: dict[str, Any], status: str) -> dict[str, Any]:
    old_status = "member" if status in ("kicked", "left") else "kicked"
    return {
        "chat": chat_obj,
        "from": from_user,
        "date": now(),
        "old_chat_member": member(bot_user(), old_status),
        "new_chat_member": member(bot_user(), status),
    }


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not markup:
        return []
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def reply_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not markup or "keyboard" not in markup:
        return []
    return [b if isinstance(b, dict) else {"text": b} for row in markup["keyboard"] for b in row]
