"""The pieces a conversation turn passes between its transaction and its sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialogs.primitives import EventKind, Incoming, Outcome
from handlers.flood import Entry, emergency
from handlers.pacer import Priority
from handlers.uploads import Upload
from storage.models import utcnow
from storage.vocabulary import Platform


@dataclass
class Committed:
    outcome: Outcome
    chat_key: str
    erase: bool = False  # quick exit: delete the chat, including what this turn sends
    forget: bool = False  # data deleted: delete the chat and keep no ids
    admins_changed: bool = False  # /admins added or removed one: the roster reads them after the commit
    erase_ids: list[int] = field(default_factory=list)
    # The update whose answer is kept in the inbox until sent (a crash in between sends it later).
    answer_of: tuple[Platform, int] | None = None
    replayed: bool = False  # an answer kept from before a restart, sent now
    uploads: list[Upload] = field(default_factory=list)  # sent after the commit, before the screens
    uploads_lost: bool = False  # a replay: files were due before a restart, and never sent


@dataclass(frozen=True)
class Target:
    """Where a turn's screens go, and what they answer."""

    platform: Platform
    chat_id: int
    user_id: int
    incoming: Incoming | None = None  # None: a turn the system started
    dedup: str | None = None  # names the turn, so a repeated send is not shown twice (VK)
    intent: str | None = None  # why the system writes first (SystemEvent.intent)
    # A reply to a person who wrote goes first (``reply_priority``: the emergency numbers before any
    # other); what the system starts is paced (broadcasts: BULK).
    priority: Priority = Priority.SCHEDULED


def reply_priority(entry: Entry[Any]) -> Priority:
    """The priority of the replies to what a person sent: EMERGENCY for an SOS or words of danger
    typed (a caption too) or the 🆘 pressed, else REPLY.

    Asked once a turn, from what the person's line already knows (handlers/flood.py): a plain text
    was matched as it entered the line (an urgent one is never mergeable), so it is not matched
    again; a press costs nothing, and a caption is matched here."""
    event = entry.incoming.event
    if event.kind is EventKind.TEXT and event.attachment is None:
        urgent = not entry.mergeable
    else:
        urgent = emergency(entry.incoming)
    return Priority.EMERGENCY if urgent else Priority.REPLY


def aware(moment: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes; PostgreSQL aware ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)
