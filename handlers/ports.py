"""Ports: what the use-cases need from the outside world. ``bot/`` implements them per platform."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from dialogs.primitives import Screen, Traits
from dialogs.state import Attachment
from storage.vocabulary import AttachmentKind, Platform


class RecipientUnreachableError(Exception):
    """The person blocked the bot, deleted their account, or the chat is gone (Telegram 403)."""


class DeliveryFailedError(Exception):
    """The platform kept failing (5xx, timeouts, repeated 429) after our retries."""


class IntentRefusedError(DeliveryFailedError):
    """VK refused the message's intent (943: not allowed to this person now, 944: over its limit).
    Sending it again will not help: the recipient is reported as such, not retried."""

    def __init__(self, code: int) -> None:
        super().__init__(f"VK refused the intent (error {code})")
        self.code = code


class Delivery(StrEnum):
    """How a message the system started went; true only when delivered (or kept for after a step)."""

    SENT = "sent"
    UNREACHABLE = "unreachable"  # blocked the bot, data deleted, or never wrote
    REFUSED = "refused"  # the platform refused its intent (VK 943/944)
    FAILED = "failed"

    def __bool__(self) -> bool:
        return self is Delivery.SENT


class MessageGoneError(Exception):
    """The message to copy no longer exists (the parent deleted it, e.g. with a quick exit)."""


class ChatMigratedError(Exception):
    """A Telegram group became a supergroup; ``new_chat_id`` is where it lives now."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"chat migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class FileRefusedError(Exception):
    """A file could not be passed to another messenger: too big (``limit_mb``) or not supported (None)."""

    def __init__(self, limit_mb: int | None = None) -> None:
        super().__init__(f"file refused (limit {limit_mb} MB)" if limit_mb else "files are not supported")
        self.limit_mb = limit_mb


@dataclass(frozen=True)
class FileData:
    """A file's bytes, fetched from the messenger that keeps it to be uploaded to another one."""

    kind: AttachmentKind
    name: str
    data: bytes


@dataclass(frozen=True)
class ChatRights:
    """What the bot may do in a group chat."""

    can_post: bool
    is_admin: bool


class Messenger(Protocol):
    platform: Platform
    traits: Traits

    async def send(
        self,
        chat_id: int,
        screen: Screen,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        """Send a screen (several messages when it is long); return every new message id.

        ``dedup`` names this send in our own terms (an update, a relayed message): where the platform
        supports it (VK's random_id), sending the same thing again does not deliver it twice.
        Raises RecipientUnreachableError or DeliveryFailedError.
        """
        ...

    async def copy(
        self,
        from_chat: int,
        message_id: int,
        to_chat: int,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int:
        """Copy a message as it is (text or media, without the sender's name); return the new id.

        Raises MessageGoneError, ChatMigratedError, RecipientUnreachableError or DeliveryFailedError.
        """
        ...

    async def send_files(
        self,
        chat_id: int,
        files: Sequence[Attachment],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[int]:
        """Send files kept by reference (albums kept together); files of another platform are skipped."""
        ...

    async def fetch_file(self, attachment: Attachment, *, limit: int | None = None) -> FileData | None:
        """The bytes of a file this platform keeps (None when it is another platform's, or gone).

        Raises FileRefusedError when the platform will not hand a bot a file that big, or when it is
        bigger than ``limit`` bytes (then nothing past the limit is read).
        """
        ...

    async def upload_files(
        self,
        chat_id: int,
        files: Sequence[FileData],
        *,
        reply_to: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        """Send files from another platform as new uploads (voice goes as a document).

        Raises FileRefusedError, RecipientUnreachableError or DeliveryFailedError.
        """
        ...

    async def open_topic(self, chat_id: int, name: str) -> int | None:
        """A new forum topic for a ticket; None when the chat is not a forum (the card is the thread)."""
        ...

    async def rename_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        """Best effort: the topic's name shows the ticket's status."""
        ...

    async def rights(self, chat_id: int) -> ChatRights:
        """The bot's own rights in a group chat."""
        ...

    async def edit(self, chat_id: int, message_id: int, screen: Screen) -> bool:
        """Replace a message in place; False when the platform refuses (too old, deleted, ...)."""
        ...

    async def delete(self, chat_id: int, message_ids: Sequence[int]) -> int:
        """Delete messages where the platform allows it; return how many were deleted."""
        ...

    async def send_document(self, chat_id: int, name: str, content: bytes, *, caption: str = "") -> list[int]:
        """Send ``content`` as a file named ``name`` (an export); return the new message ids.

        Raises RecipientUnreachableError or DeliveryFailedError.
        """
        ...


async def send_file(messenger: Messenger, chat_id: int, name: str, content: bytes) -> list[int]:
    """A file the bot makes (an export, a chart) sent through the upload flow every messenger has,
    so admins on VK and MAX get it too. A PNG goes as a photo, anything else as a document.

    Raises FileRefusedError, RecipientUnreachableError or DeliveryFailedError.
    """
    kind = AttachmentKind.PHOTO if name.lower().endswith(".png") else AttachmentKind.DOCUMENT
    return await messenger.upload_files(chat_id, [FileData(kind=kind, name=name, data=content)])


@runtime_checkable
class StarBalance(Protocol):
    """A messenger with Telegram's paid broadcast (``Screen.paid``): what the bot has to pay with."""

    async def star_balance(self) -> Decimal:
        """The bot's Telegram Stars. Raises DeliveryFailedError when it cannot be read."""
        ...


@runtime_checkable
class KeepsFiles(Protocol):
    """A messenger that keeps an uploaded file for sending by reference to anyone afterwards (VK):
    an announcement's photo is uploaded there once, not once per family."""

    async def store_file(self, chat_id: int, file: FileData) -> Attachment:
        """Upload ``file`` (for ``chat_id``, a chat the platform ties the upload to) and return its ref.

        Raises FileRefusedError or DeliveryFailedError.
        """
        ...


# What one recipient of a send to many got: the new message ids, or why not (RecipientUnreachableError,
# IntentRefusedError, DeliveryFailedError).
SendResult = list[int] | Exception


@runtime_checkable
class SendsToMany(Protocol):
    """A messenger where one call shows the same screen to many people (VK: ``peer_ids``, up to 100).

    Messengers without it (Telegram, MAX) are left to the sender, one send a person.
    """

    fanout: int  # people one call reaches at most

    async def send_many(
        self, chat_ids: Sequence[int], screen: Screen, *, dedup: str
    ) -> dict[int, SendResult]:
        """Send ``screen`` to every chat in ``chat_ids`` (at most ``fanout``); one result each.

        ``dedup`` names this screen for every one of them: sent again under the same name (after a
        crash), nobody gets it twice. Raises DeliveryFailedError when the call as a whole failed.
        """
        ...
