"""Screens to Telegram messages: long texts split in order, never inside an HTML entity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.text import split_text
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
