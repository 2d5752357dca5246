"""Text helpers every transport shares: long texts split in order, our small HTML subset made plain."""

from __future__ import annotations

import html
import re

TEXT_LIMIT = 4096  # Telegram and VK both take at most 4096 characters in one message
_TAGS = re.compile(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>")


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line breaks, in order; a longer line is cut, never inside an HTML entity like &amp;."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for whole_line in text.split("\n"):
        line = whole_line
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while len(line) > limit:
            cut = limit
            amp = line.rfind("&", max(0, limit - 10), limit)
            if amp != -1 and ";" not in line[amp:limit]:
                cut = amp  # an entity would be split: cut before it
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        chunks.append(current)
    return chunks


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut is marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def html_to_plain(text: str) -> str:
    """Plain text for platforms without markup (VK), or when Telegram rejects ours: nothing is lost."""
    return html.unescape(_TAGS.sub("", text))
