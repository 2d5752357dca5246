"""Start links (posters, school websites): the payload a link carries and the kind of help it chooses.

A payload is persisted on paper (printed QR codes): ``help_<category>`` is a schema, never renamed.
Telegram allows ``A-Za-z0-9_-`` up to 64 characters in ``?start=``; VK's ``ref`` and MAX's ``start``
take the same string.
"""

from __future__ import annotations

from dialogs.primitives import Event, EventKind
from storage.vocabulary import Category

PREFIX = "help_"


def payload_for(category: Category) -> str:
    return f"{PREFIX}{category.value}"


def category_of(payload: str) -> Category | None:
    """The kind of help a payload names; None for anything else (forged, old, or a plain start)."""
    if not payload.startswith(PREFIX):
        return None
    try:
        return Category(payload.removeprefix(PREFIX))
    except ValueError:
        return None


def start_category(event: Event) -> Category | None:
    """``/start <payload>`` as every transport hands it over (Telegram's own, VK's ``ref``, MAX's
    ``payload``): the kind of help its link chose."""
    if event.kind is not EventKind.COMMAND or event.command != "start":
        return None
    parts = event.text.split(maxsplit=1)
    return category_of(parts[1].strip()) if len(parts) == 2 else None
