"""Effects of the admins' own tools (start links, the list of admins): carried out by ``handlers``.

Plain data, like every effect; kept apart from ``dialogs.primitives`` so that module stays a size
one can read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendQrCodes:
    """Send a QR code image (PNG) for each start link: ``(file name, link)`` pairs."""

    links: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ChangeAdmin:
    """Add (``add``) or remove an admin kept in the database; ``key`` is a person key (``tg:123``)."""

    key: str
    add: bool
