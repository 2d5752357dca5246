"""VK conversations, pure parts: mentions, replies by forward, cards that keep to one inline keyboard."""

from __future__ import annotations

import json

import pytest

from bot.config import ConfigError, load_settings
from bot.vk.render import ClientInfo, fits_inline, render, replied, without_mention
from dialogs.primitives import Button, Payload, Screen


def test_a_mention_of_this_bot_is_taken_off_and_others_are_kept() -> None:
    assert without_mention({"text": "[club77|@help] /bindings"}, 77)["text"] == "/bindings"
    assert without_mention({"text": "[club78|@other] /bind"}, 77)["text"] == "[club78|@other] /bind"
    assert without_mention({"text": "/bind"}, 77)["text"] == "/bind"


def test_a_reply_comes_as_reply_message_or_as_one_forwarded_message() -> None:
    assert replied({"reply_message": {"conversation_message_id": 5}}) == {"conversation_message_id": 5}
    assert replied({"fwd_messages": [{"conversation_message_id": 7}]}) == {"conversation_message_id": 7}
    assert replied({"fwd_messages": [{"conversation_message_id": 7}, {"conversation_message_id": 8}]}) == {}


def _screen(rows: int, per_row: int) -> Screen:
    buttons = tuple(
        tuple(Button(label=f"b{r}-{c}", payload=Payload(step="s", value=f"{r}.{c}")) for c in range(per_row))
        for r in range(rows)
    )
    return Screen(text="card", buttons=buttons)


def test_a_conversation_gets_inline_keyboards_only_and_nothing_is_dropped() -> None:
    # Eight one-button rows: merged two a row into one inline keyboard.
    [part] = render(_screen(8, 1), ClientInfo(), conversation=True)
    keyboard = json.loads(part.keyboard or "{}")
    assert keyboard["inline"] and len(keyboard["buttons"]) == 4
    # Twelve buttons outgrow one inline keyboard: the rest follows, inline too, never under the input.
    parts = render(_screen(6, 2), ClientInfo(), conversation=True)
    keyboards = [json.loads(p.keyboard or "{}") for p in parts]
    assert all(k["inline"] for k in keyboards)
    assert all(fits_inline(k["buttons"]) for k in keyboards)
    assert sum(len(row) for k in keyboards for row in k["buttons"]) == 12
    # A private dialog would have used the keyboard under the input field.
    assert not json.loads(render(_screen(6, 2), ClientInfo())[0].keyboard or "{}").get("inline")


@pytest.mark.parametrize("chat", ["vk:2000000001", "vk:2000000042"])
def test_a_vk_conversation_is_a_coordinators_chat(monkeypatch: pytest.MonkeyPatch, chat: str) -> None:
    monkeypatch.setenv("VK_TOKEN", "vk-token")
    monkeypatch.setenv("VK_GROUP_ID", "77")
    monkeypatch.setenv("COORDINATOR_CHAT", chat)
    assert load_settings().coordinator_chat == chat


def test_a_vk_person_is_not_a_coordinators_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VK_TOKEN", "vk-token")
    monkeypatch.setenv("VK_GROUP_ID", "77")
    monkeypatch.setenv("COORDINATOR_CHAT", "vk:2000000000")
    with pytest.raises(ConfigError, match=r"^COORDINATOR_CHAT: .*VK conversation"):
        load_settings()
