"""Ports: what the use-cases need from the outside world. ``bot/`` implements them per platform."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dialogs.primitives import Screen
from storage.vocabulary import Platform


class RecipientUnreachableError(Exception):
    """The person blocked the bot, deleted their account, or the chat is gone (Telegram 403)."""


class DeliveryFailedError(Exception):
    """The platform kept failing (5xx, timeouts, repeated 429) after our retries."""


class Messenger(Protocol):
    platform: Platform

    async def send(self, chat_id: int, screen: Screen, *, reply_to: int | None = None) -> list[int]:
        """Send a screen (several messages when it is long); return every new message id.

        Raises RecipientUnreachableError or DeliveryFailedError.
        """
        ...

    async def edit(self, chat_id: int, message_id: int, screen: Screen) -> bool:
        """Replace a message in place; False when the platform refuses (too old, deleted, ...)."""
        ...

    async def delete(self, chat_id: int, message_ids: Sequence[int]) -> int:
        """Delete messages where the platform allows it; return how many were deleted."""
        ...
