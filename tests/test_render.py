"""Screens to Telegram messages: long texts split in order, never inside an HTML entity; keyboards."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.telegram.render import inline_markup
from bot.text import split_text
from dialogs.primitives import Button, Payload, Screen
from dialogs.texts import esc


@given(st.lists(st.text(alphabet="ab<&> ", max_size=6000), min_size=1, max_size=5))
def test_split_keeps_order_limits_and_entities(lines: list[str]) -> None:
    text = "\n".join(esc(line) for line in lines)
    chunks = split_text(text, limit=500)
    assert all(len(c) <= 500 for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")
    for chunk in chunks:
        assert not chunk.startswith(("lt;", "gt;", "amp;", "t;", "mp;", "p;")) or chunk == text


def test_head_first() -> None:
    chunks = split_text("HEAD\n" + "&lt;" * 3000, limit=4096)
    assert chunks[0] == "HEAD"


def test_the_same_buttons_make_one_keyboard_and_different_ones_their_own() -> None:
    """The keyboard of a screen everyone sees is built once (bot/telegram/render.py); a screen whose
    buttons differ in any way (a label, a payload, a link) gets its own."""
    yes = Button("Да", Payload(step="consent", value="yes"))
    first = inline_markup(Screen(text="Вы согласны?", buttons=((yes,),)))
    again = inline_markup(
        Screen(text="Другой текст", buttons=((Button("Да", Payload(step="consent", value="yes")),),))
    )
    assert first is not None and first is again
    other_value = inline_markup(
        Screen(text="Вы согласны?", buttons=((Button("Да", Payload(step="consent", value="no")),),))
    )
    other_label = inline_markup(Screen(text="Вы согласны?", buttons=((Button("Нет", yes.payload),),)))
    link = inline_markup(Screen(text="x", buttons=((Button("Сайт", url="https://example.org"),),)))
    assert other_value is not None and other_label is not None and link is not None
    assert [b.callback_data for b in first.inline_keyboard[0]] == ["d:consent:yes"]
    assert [b.callback_data for b in other_value.inline_keyboard[0]] == ["d:consent:no"]
    assert [b.text for b in other_label.inline_keyboard[0]] == ["Нет"]
    assert [b.url for b in link.inline_keyboard[0]] == ["https://example.org"]
    assert inline_markup(Screen(text="без кнопок")) is None
