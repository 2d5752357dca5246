"""Telegram-style HTML parse_mode checking for the emulator.

Real Telegram rejects the whole message with "can't parse entities" when HTML is malformed, which is
a classic production failure (a user's name containing ``<`` pasted into an HTML template).  The
emulator reproduces that and stores the plain text users would see.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "tg-time",
        "code",
        "pre",
        "blockquote",
    }
)
# A "<" that cannot open or close a tag must be escaped as &lt;.
_BARE_LT = re.compile(r"<(?![A-Za-z/])")


class EntityParseError(ValueError):
    pass


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parts: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error:
            return
        if tag not in ALLOWED_TAGS:
            self.error = f'Unsupported start tag "{tag}" at byte offset {self._offset()}'
            return
        if tag == "span" and ("class", "tg-spoiler") not in attrs:
            self.error = f'Tag "span" must have class "tg-spoiler" at byte offset {self._offset()}'
            return
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "br" and not self.error:
            self.error = f'Unsupported start tag "{tag}" at byte offset {self._offset()}'

    def handle_endtag(self, tag: str) -> None:
        if self.error:
            return
        if not self.stack or self.stack[-1] != tag:
            expected = self.stack[-1] if self.stack else ""
            where = self._offset()
            self.error = (
                f'Unmatched end tag at byte offset {where}, expected "</{expected}>", found "</{tag}>"'
            )
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def _offset(self) -> int:
        line, col = self.getpos()
        return col if line == 1 else -1


def html_to_plain(text: str) -> str:
    """Plain text of a Telegram-HTML message; raises EntityParseError like the server would."""
    bare = _BARE_LT.search(text)
    if bare:
        raise EntityParseError(
            f"Unexpected character '<' at byte offset {len(text[: bare.start()].encode())}"
        )
    parser = _Parser()
    parser.feed(text)
    parser.close()
    if parser.error:
        raise EntityParseError(parser.error)
    if parser.stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"')
    return "".join(parser.parts)


def plain_text(text: str, parse_mode: str | None) -> str:
    if parse_mode and parse_mode.upper() == "HTML":
        return html_to_plain(text)
    # MarkdownV2 is not parsed: storing the source keeps assertions on visible words working.
    return text
