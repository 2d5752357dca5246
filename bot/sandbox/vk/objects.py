"""VK objects for the VK emulator: client_info, message and attachment objects, keyboard checks.

Shapes follow API 5.199 and the schema in ``shared/specs/vk/`` (``callback.objects.json``,
``messages.objects.json``); everything here is pure data, the state lives in ``state.py``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

# What a current VK client reports; a client without inline keyboards lacks callback buttons too.
FULL_BUTTON_ACTIONS = ["text", "vkpay", "open_app", "location", "open_link", "callback", "intent_subscribe"]
OLD_BUTTON_ACTIONS = ["text", "vkpay", "open_app", "location", "open_link"]
BUTTON_TYPES = frozenset({"text", "callback", "open_link"})
BUTTON_COLORS = frozenset({"default", "positive", "negative", "primary"})
SNACKBAR_MAX = 90
LABEL_MAX = 40
PAYLOAD_MAX_BYTES = 255
ATTACHMENT_RE = re.compile(
    r"(photo|video|audio|doc|wall|market|poll|audio_message|story)(-?\d+)_(\d+)(?:_(\w+))?"
)


def now() -> int:
    return int(time.time())


def random_hex(length: int) -> str:
    return secrets.token_hex(length // 2 + 1)[:length]


def client_info(*, inline: bool, lang_id: int) -> dict[str, Any]:
    return {
        "button_actions": list(FULL_BUTTON_ACTIONS if inline else OLD_BUTTON_ACTIONS),
        "keyboard": True,
        "inline_keyboard": inline,
        "carousel": inline,
        "lang_id": lang_id,
    }


def wrap_event(event_type: str, obj: dict[str, Any], group_id: int) -> dict[str, Any]:
    """A Bots Long Poll event around ``obj``; VK's event ids are 40 hex digits."""
    return {"type": event_type, "object": obj, "group_id": group_id, "event_id": random_hex(40), "v": "5.199"}


def message_object(
    *,
    message_id: int,
    cmid: int,
    peer_id: int,
    from_id: int,
    text: str,
    date: int,
    version: int,
    out: int = 0,
    attachments: list[dict[str, Any]] | None = None,
    payload: str | None = None,
    reply_message: dict[str, Any] | None = None,
    random_id: int = 0,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "date": date,
        "from_id": from_id,
        "id": message_id,
        "out": out,
        "version": version,
        "attachments": list(attachments or []),
        "conversation_message_id": cmid,
        "fwd_messages": [],
        "important": False,
        "is_hidden": False,
        "peer_id": peer_id,
        "random_id": random_id,
        "text": text,
    }
    if payload is not None:
        message["payload"] = payload
    if reply_message is not None:
        message["reply_message"] = reply_message
    return message


def photo(base_url: str, owner_id: int, item_id: int) -> dict[str, Any]:
    key = random_hex(18)
    sizes = [
        {"height": h, "width": w, "type": t, "url": f"{base_url}/files/photo{owner_id}_{item_id}_{t}.jpg"}
        for t, w, h in (("s", 75, 56), ("m", 130, 97), ("x", 604, 453), ("y", 807, 605), ("z", 1280, 960))
    ]
    body = {
        "album_id": -3,
        "date": now(),
        "id": item_id,
        "owner_id": owner_id,
        "access_key": key,
        "sizes": sizes,
        "text": "",
        "web_view_token": random_hex(20),
        "has_tags": False,
    }
    return {"type": "photo", "photo": body}


def doc(base_url: str, owner_id: int, item_id: int, title: str) -> dict[str, Any]:
    ext = title.rsplit(".", 1)[-1].lower() if "." in title else "bin"
    body = {
        "id": item_id,
        "owner_id": owner_id,
        "title": title,
        "size": 48_213,
        "ext": ext,
        "date": now(),
        "type": 1 if ext in ("txt", "pdf", "doc", "docx") else 8,
        "url": f"{base_url}/files/doc{owner_id}_{item_id}.{ext}?hash={random_hex(18)}&dl=1",
        "access_key": random_hex(18),
    }
    return {"type": "doc", "doc": body}


def voice(base_url: str, owner_id: int, item_id: int) -> dict[str, Any]:
    stem = f"{base_url}/files/audio_message{owner_id}_{item_id}"
    body = {
        "id": item_id,
        "owner_id": owner_id,
        "duration": 4,
        "waveform": [0, 3, 9, 14, 20, 25, 19, 11, 6, 2],
        "link_ogg": f"{stem}.ogg",
        "link_mp3": f"{stem}.mp3",
        "access_key": random_hex(18),
        "transcript_state": "done",
        "transcript": "",
    }
    return {"type": "audio_message", "audio_message": body}


def sticker() -> dict[str, Any]:
    images = [{"url": f"https://vk.com/sticker/1-9-{s}", "width": s, "height": s} for s in (64, 128, 256)]
    body = {"product_id": 1, "sticker_id": 9, "images": images, "images_with_background": images}
    return {"type": "sticker", "sticker": body}


def attachment_ref(obj: dict[str, Any]) -> tuple[str, str | None]:
    """``("photo123_456", access_key)`` for an attachment object a user sent."""
    kind = obj["type"]
    body = obj[kind]
    return f"{kind}{body['owner_id']}_{body['id']}", body.get("access_key")


def buttons(keyboard: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The keyboard's buttons, flattened: ``{"label", "type", "payload", "link"}``."""
    if not keyboard:
        return []
    found: list[dict[str, Any]] = []
    for row in keyboard.get("buttons") or []:
        for button in row if isinstance(row, list) else []:
            action = button.get("action", {}) if isinstance(button, dict) else {}
            found.append(
                {
                    "label": action.get("label", ""),
                    "type": action.get("type", ""),
                    "payload": action.get("payload"),
                    "link": action.get("link"),
                }
            )
    return found


def check_keyboard(
    raw: str, client: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, list[str], list[str]]:
    """Parse and check a ``keyboard`` parameter.

    Returns ``(keyboard, invalid, unsupported)``: ``invalid`` are format errors VK answers with
    error 911; ``unsupported`` are buttons the user's client (``client_info``) cannot show, which VK
    delivers anyway but the bot must not send.
    """
    try:
        keyboard = json.loads(raw)
    except ValueError as exc:
        return None, [f"keyboard is not valid JSON: {exc}"], []
    if not isinstance(keyboard, dict):
        return None, ["keyboard must be a JSON object"], []
    invalid = [
        f"keyboard has unknown key {k!r}" for k in keyboard if k not in ("buttons", "inline", "one_time")
    ]
    for key in ("inline", "one_time"):
        if key in keyboard and not isinstance(keyboard[key], bool):
            invalid.append(f"keyboard.{key} must be a boolean, got {keyboard[key]!r}")
    rows = keyboard.get("buttons")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        return keyboard, [*invalid, "keyboard.buttons must be an array of rows (arrays)"], []
    inline = keyboard.get("inline") is True
    max_rows, max_buttons = (6, 10) if inline else (10, 40)
    total = sum(len(r) for r in rows)
    if len(rows) > max_rows:
        invalid.append(f"{'inline' if inline else 'regular'} keyboard has {len(rows)} rows, max {max_rows}")
    if total > max_buttons:
        invalid.append(f"{'inline' if inline else 'regular'} keyboard has {total} buttons, max {max_buttons}")
    for i, row in enumerate(rows):
        if len(row) > 5:
            invalid.append(f"keyboard row {i} has {len(row)} buttons, max 5")
        for j, button in enumerate(row):
            invalid.extend(f"button [{i}][{j}]: {p}" for p in _button_problems(button))
    unsupported: list[str] = []
    if client is not None:
        if inline and not client.get("inline_keyboard"):
            unsupported.append("inline keyboard sent to a client without inline keyboards (client_info)")
        actions = set(client.get("button_actions") or [])
        types = {b["type"] for b in buttons(keyboard)} - actions
        unsupported.extend(
            f"{kind} button sent to a client whose button_actions lack it" for kind in sorted(types)
        )
    return keyboard, invalid, unsupported


def _button_problems(button: Any) -> list[str]:
    if not isinstance(button, dict) or not isinstance(button.get("action"), dict):
        return ["a button must be an object with an 'action' object"]
    problems = [f"unknown key {k!r}" for k in button if k not in ("action", "color")]
    action = button["action"]
    kind = action.get("type")
    if kind not in BUTTON_TYPES:
        return [*problems, f"action type {kind!r} is not one of {sorted(BUTTON_TYPES)}"]
    allowed = {"type", "label", "payload"} | ({"link"} if kind == "open_link" else set())
    problems += [f"unknown action key {k!r} for a {kind} button" for k in action if k not in allowed]
    if "color" in button and (kind == "open_link" or button["color"] not in BUTTON_COLORS):
        problems.append(f"color {button['color']!r} is not allowed on a {kind} button")
    label = action.get("label")
    if not isinstance(label, str) or not 1 <= len(label) <= LABEL_MAX:
        problems.append(f"label must be a string of 1..{LABEL_MAX} characters, got {label!r}")
    if "payload" in action:
        problems += _payload_problems(action["payload"])
    if kind == "open_link" and not str(action.get("link", "")).startswith(("https://", "http://")):
        problems.append(f"an open_link button needs an http(s) link, got {action.get('link')!r}")
    return problems


def _payload_problems(payload: Any) -> list[str]:
    if not isinstance(payload, str):
        return [f"payload must be a string holding JSON, got {type(payload).__name__}"]
    if len(payload.encode()) > PAYLOAD_MAX_BYTES:
        return [f"payload is {len(payload.encode())} bytes, max {PAYLOAD_MAX_BYTES}"]
    try:
        json.loads(payload)
    except ValueError:
        return [f"payload is not valid JSON: {payload[:60]!r}"]
    return []


def event_data_problems(raw: str) -> list[str]:
    """Problems with ``messages.sendMessageEventAnswer``'s ``event_data``."""
    try:
        data = json.loads(raw)
    except ValueError:
        return [f"event_data is not valid JSON: {raw[:60]!r}"]
    if not isinstance(data, dict):
        return ["event_data must be a JSON object"]
    kind = data.get("type")
    if kind == "show_snackbar":
        text = data.get("text")
        if not isinstance(text, str) or not text:
            return ["show_snackbar needs a non-empty text"]
        if len(text) > SNACKBAR_MAX:
            return [f"show_snackbar text is {len(text)} characters, max {SNACKBAR_MAX}"]
        return []
    if kind == "open_link":
        link = data.get("link")
        ok = isinstance(link, str) and link.startswith(("https://", "http://"))
        return [] if ok else [f"open_link needs an http(s) link, got {link!r}"]
    if kind == "open_app":
        return [] if isinstance(data.get("app_id"), int) else ["open_app needs an integer app_id"]
    return [f"event_data type {kind!r} is not one of show_snackbar, open_link, open_app"]
