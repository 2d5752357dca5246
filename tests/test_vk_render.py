"""VK rendering without a network: keyboards within VK's limits, never cut; VK messages as neutral events."""

from __future__ import annotations

import json
from typing import Any

from bot.vk.render import (
    INLINE_BUTTONS,
    INLINE_ROWS,
    LABEL_LIMIT,
    MORE,
    ROW_BUTTONS,
    ClientInfo,
    render,
    to_events,
)
from dialogs.primitives import Button, EventKind, Payload, Screen
from storage.vocabulary import AttachmentKind

MODERN = ClientInfo(inline=True, callback=True)
NO_CALLBACK = ClientInfo(inline=True, callback=False)
OLD = ClientInfo(inline=False, callback=False)


def _button(i: int) -> Button:
    return Button(label=f"Вариант {i}", payload=Payload(step="s", value=f"v{i}"))


def _buttons(keyboard: str | None) -> list[dict[str, Any]]:
    assert keyboard is not None
    return [b for row in json.loads(keyboard)["buttons"] for b in row]


def test_a_small_screen_is_one_message_with_callback_buttons() -> None:
    screen = Screen(text="<b>Кто</b> &amp; что?", buttons=((_button(1), _button(2)), (_button(3),)))
    parts = render(screen, MODERN)
    assert len(parts) == 1
    assert parts[0].text == "Кто & что?"  # VK shows plain text: tags gone, entities unescaped
    keyboard = json.loads(parts[0].keyboard or "")
    assert keyboard["inline"] is True
    first = keyboard["buttons"][0][0]["action"]
    assert first["type"] == "callback"
    assert json.loads(first["payload"]) == "d:s:v1"  # the same packed payload as Telegram's callback data


def test_a_screen_too_big_for_an_inline_keyboard_uses_the_regular_one() -> None:
    rows = tuple((_button(2 * i), _button(2 * i + 1)) for i in range(8))  # 16 buttons in 8 rows
    parts = render(Screen(text="Выберите", buttons=rows), MODERN)
    assert len(parts) == 1
    keyboard = json.loads(parts[0].keyboard or "")
    assert keyboard.get("inline") is not True
    assert [b["action"]["label"] for r in keyboard["buttons"] for b in r] == [
        f"Вариант {i}" for i in range(16)
    ]
    assert {b["action"]["type"] for r in keyboard["buttons"] for b in r} == {"callback"}


def test_a_screen_too_big_for_any_keyboard_continues_in_further_messages() -> None:
    rows = tuple((_button(i),) for i in range(23))
    parts = render(Screen(text="Выберите", buttons=rows), MODERN)
    assert parts[0].text == "Выберите"
    assert all(p.text == MORE for p in parts[1:])
    labels: list[str] = []
    for part in parts:
        keyboard = json.loads(part.keyboard or "")
        assert len(keyboard["buttons"]) <= INLINE_ROWS
        assert sum(len(r) for r in keyboard["buttons"]) <= INLINE_BUTTONS
        labels += [b["action"]["label"] for r in keyboard["buttons"] for b in r]
    assert labels == [f"Вариант {i}" for i in range(23)]  # all of them, in order


def test_wide_rows_are_split_at_five_and_long_labels_are_shortened() -> None:
    long = Button(label="Очень " * 20, payload=Payload(step="s", value="long"))
    screen = Screen(text="x", buttons=((*tuple(_button(i) for i in range(7)), long),))
    keyboards = [json.loads(p.keyboard or "") for p in render(screen, MODERN)]
    rows = [row for kb in keyboards for row in kb["buttons"]]
    assert all(len(row) <= ROW_BUTTONS for row in rows)
    labels = [b["action"]["label"] for row in rows for b in row]
    assert len(labels) == 8
    assert all(len(label) <= LABEL_LIMIT for label in labels)
    assert labels[-1].endswith("…")


def test_apps_without_callback_get_text_buttons_carrying_the_payload() -> None:
    parts = render(Screen(text="x", buttons=((_button(1),),)), NO_CALLBACK)
    action = _buttons(parts[0].keyboard)[0]["action"]
    assert action["type"] == "text"
    assert json.loads(action["payload"]) == "d:s:v1"


def test_apps_without_inline_keyboards_get_one_regular_keyboard() -> None:
    rows = tuple((_button(i),) for i in range(9))
    parts = render(Screen(text="x", buttons=rows), OLD)
    assert len(parts) == 1
    keyboard = json.loads(parts[0].keyboard or "")
    assert "inline" not in keyboard or keyboard["inline"] is False
    assert len(_buttons(parts[0].keyboard)) == 9


def test_reply_buttons_are_text_buttons_and_the_share_contact_button_is_left_out() -> None:
    screen = Screen(text="Телефон?", request_contact="📱 Поделиться", reply_buttons=("⬅️ Назад", "🆘 Срочно"))
    buttons = _buttons(render(screen, MODERN)[0].keyboard)
    assert [(b["action"]["type"], b["action"]["label"]) for b in buttons] == [
        ("text", "⬅️ Назад"),
        ("text", "🆘 Срочно"),
    ]
    assert all("payload" not in b["action"] for b in buttons)


def test_link_buttons_open_links() -> None:
    screen = Screen(text="x", buttons=((Button(label="Политика", url="https://example.org/p"),),))
    action = _buttons(render(screen, MODERN)[0].keyboard)[0]["action"]
    assert action == {"type": "open_link", "link": "https://example.org/p", "label": "Политика"}


def test_a_long_text_is_split_and_the_keyboard_rides_on_the_last_part() -> None:
    parts = render(Screen(text="строка\n" * 1500, buttons=((_button(1),),)), MODERN)
    assert len(parts) >= 3
    assert all(len(p.text) <= 4096 for p in parts)
    assert [p.keyboard is not None for p in parts] == [False] * (len(parts) - 1) + [True]


# ---- incoming ----


def _message(**fields: Any) -> dict[str, Any]:
    return {"text": "", "attachments": [], "peer_id": 5, "from_id": 5, **fields}


def test_text_commands_and_the_start_button() -> None:
    assert to_events(_message(text="Помогите"))[0].kind is EventKind.TEXT
    command = to_events(_message(text="/my_data"))[0]
    assert (command.kind, command.command) == (EventKind.COMMAND, "my_data")
    start = to_events(_message(text="Начать", payload='{"command":"start"}'))[0]
    assert (start.kind, start.command) == (EventKind.COMMAND, "start")


def test_a_text_button_press_carries_our_payload_and_a_forged_one_carries_none() -> None:
    pressed = to_events(_message(text="Вариант 1", payload=json.dumps("d:s:v1")))[0]
    assert pressed.kind is EventKind.BUTTON
    assert pressed.payload == Payload(step="s", value="v1")
    for forged in ('"x:y"', '{"a": 1}', "not json", json.dumps("d:" + "a" * 80 + ":b")):
        event = to_events(_message(text="Вариант", payload=forged))[0]
        assert event.kind is EventKind.BUTTON
        assert event.payload is None


def test_attachments_are_kept_as_references_one_event_each() -> None:
    photo = {
        "type": "photo",
        "photo": {
            "id": 10,
            "owner_id": 5,
            "access_key": "k1",
            "sizes": [
                {"type": "s", "url": "https://sun.example/s.jpg", "width": 75, "height": 50},
                {"type": "w", "url": "https://sun.example/w.jpg", "width": 2560, "height": 1700},
            ],
        },
    }
    doc = {
        "type": "doc",
        "doc": {"id": 11, "owner_id": 5, "title": "справка.pdf", "url": "https://vk.example/d"},
    }
    voice = {
        "type": "audio_message",
        "audio_message": {"id": 12, "owner_id": 5, "link_ogg": "https://vk.example/a.ogg"},
    }
    events = to_events(_message(text="вот", attachments=[photo, doc, voice]))
    assert [e.kind for e in events] == [EventKind.MEDIA] * 3
    assert [e.text for e in events] == ["вот", "", ""]
    first, second, third = (e.attachment for e in events)
    assert first is not None and second is not None and third is not None
    assert (first.kind, first.ref, first.url) == (
        AttachmentKind.PHOTO,
        "vk:photo5_10_k1",
        "https://sun.example/w.jpg",
    )
    assert (second.kind, second.ref, second.name) == (AttachmentKind.DOCUMENT, "vk:doc5_11", "справка.pdf")
    assert (third.kind, third.url) == (AttachmentKind.VOICE, "https://vk.example/a.ogg")


def test_stickers_locations_and_empty_messages() -> None:
    sticker = to_events(_message(attachments=[{"type": "sticker", "sticker": {"sticker_id": 1}}]))[0]
    assert (sticker.kind, sticker.what) == (EventKind.UNSUPPORTED, "sticker")
    geo = to_events(_message(geo={"coordinates": {"latitude": 55.7, "longitude": 37.6}}))[0]
    assert (geo.kind, geo.what) == (EventKind.UNSUPPORTED, "location")
    empty = to_events(_message())[0]
    assert (empty.kind, empty.text) == (EventKind.TEXT, "")
