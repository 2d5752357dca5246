"""SQLAlchemy 2 typed models. Every change here comes with an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend: SQLite stores naive values, so we re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Person(Base):
    """A family member who writes to the bot, on one platform."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "tg:123" / "vk:456"; replaced by "deleted:<n>" when the person erases their data.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(8))
    locale: Mapped[str] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(200))
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None]
    announcements: Mapped[bool] = mapped_column(Boolean, default=False)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None]


class Ticket(Base):
    """A request for help. ``id`` is also the public number the family sees."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_person_status", "person_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    category: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    danger: Mapped[list[Any]] = mapped_column(default=list)
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    region: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(32))
    children_count: Mapped[int | None]
    children_ages: Mapped[list[Any]] = mapped_column(default=list)
    has_under4: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    # Platform file references: [{"kind": "photo", "ref": "tg:<file_id>", ...}]; never the bytes.
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    contact_method: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]
    # The coordinators' chat the ticket belongs to ("tg:-100..."), set when its card is posted.
    chat: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(64))  # "tg:123" of the coordinator
    assignee_name: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    # For the SLA tick: when the card was last (re-)announced, and who last wrote in the thread.
    announced_at: Mapped[datetime | None]
    family_wrote_at: Mapped[datetime | None]
    coordinator_wrote_at: Mapped[datetime | None]
    nudged_at: Mapped[datetime | None]
    # RETENTION: when its personal texts, files and phone were erased (the figures' columns stay).
    erased_at: Mapped[datetime | None]


class RelayedMessage(Base):
    """One message passed between a family's chat and a ticket's thread: keeps replies threaded."""

    __tablename__ = "relayed_messages"
    __table_args__ = (
        Index("ix_relayed_group", "group_chat", "group_message_id"),
        Index("ix_relayed_family", "family_chat", "family_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # "in": family -> group, "out": group -> family
    group_chat: Mapped[str] = mapped_column(String(64))
    group_message_id: Mapped[int] = mapped_column(BigInteger)
    family_chat: Mapped[str] = mapped_column(String(64))
    family_message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketPost(Base):
    """A ticket's card in a coordinators' chat: where replies and edits go."""

    __tablename__ = "ticket_posts"
    __table_args__ = (Index("ix_ticket_posts_chat_message", "chat", "message_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    chat: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatBinding(Base):
    """A coordinators' chat bound to a region and/or a category (NULL: any)."""

    __tablename__ = "chat_bindings"
    __table_args__ = (Index("ix_chat_bindings_unique", "chat", "region_code", "category", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatMigration(Base):
    """A Telegram group that became a supergroup: its old id is followed to the new one."""

    __tablename__ = "chat_migrations"

    old_chat: Mapped[str] = mapped_column(String(64), primary_key=True)
    new_chat: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class DepartedMember(Base):
    """A coordinator who left (or was removed from) a coordinators' chat: no longer active there.

    Their claimed tickets are not given back to them (a reopening goes to the group), nor are they
    nudged. A row is removed when they come back."""

    __tablename__ = "departed_members"

    chat: Mapped[str] = mapped_column(String(64), primary_key=True)
    member: Mapped[str] = mapped_column(String(64), primary_key=True)  # "tg:123"
    left_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what to which ticket, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    chat: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TicketEntry(Base):
    """Information added to a ticket after it was sent (by the family, later by coordinators)."""

    __tablename__ = "ticket_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    author: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outbox(Base):
    """Work for the delivery worker, written in the same transaction as the change it announces."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "done_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # None: a row about no ticket (a plain message to a chat, say); see OutboxKind.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    # Which instance holds the lease: a restarted instance takes its own rows back at once.
    leased_by: Mapped[str | None] = mapped_column(String(64))


class Replica(Base):
    """A running bot process, seen lately: several replicas on one database need Redis."""

    __tablename__ = "replicas"

    instance: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxEntry(Base):
    """An update as the platform sent it, kept from before we acknowledge it until it is handled and
    its answer sent: a crash at any moment loses neither what a family sent nor what the bot said."""

    __tablename__ = "inbox"

    platform: Mapped[str] = mapped_column(String(8), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The screens the committed turn produced, until they are sent (then None).
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Whose update it is ("tg:123") and its place in that person's order (Telegram's update id, else
    # when it was kept): with several replicas, a person's later update waits for the earlier ones.
    person: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_inbox_person_seq", "platform", "person", "seq"),)


class Cursor(Base):
    """Where a transport stopped reading its platform's updates (VK's long-poll ``ts``)."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MaxMessageId(Base):
    """MAX names messages with text ids (``mid``); the rest of the bot keeps integer message ids.

    The integer is derived from the mid (see bot/max), this row turns it back into the mid for an
    edit, a delete or a reply, across restarts.
    """

    __tablename__ = "max_message_ids"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    mid: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DialogStateRow(Base):
    """Where each person is in a dialog; survives restarts."""

    __tablename__ = "dialog_states"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedUpdate(Base):
    """Platform update ids already handled: a redelivered update changes nothing."""

    __tablename__ = "processed_updates"

    platform: Mapped[str] = mapped_column(String(8), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ChatMessage(Base):
    """Ids of messages in a parent's private chat, so a quick exit can delete them. Ids only, no text."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_chat", "chat", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    from_bot: Mapped[bool] = mapped_column(Boolean)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appointment(Base):
    """An in-person appointment the assignee offers a family (/appoint in the ticket's thread)."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    place: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # offered, confirmed, declined, other_time, cancelled
    proposal: Mapped[str | None] = mapped_column(Text)  # "another time", in the family's words
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The ticket's thread still has to hear the family's answer; cleared when told.
    tell_thread: Mapped[bool] = mapped_column(Boolean, default=False)


class FollowUp(Base):
    """A message the system owes a family after its ticket closed: the offer to check in later, or a
    check-in. One row per (ticket, kind, due time); its answer is the outcome the figures count."""

    __tablename__ = "followups"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "due_at", name="uq_followups_ticket_kind_due"),
        Index("ix_followups_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    status: Mapped[str] = mapped_column(String(16))
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None]
    answered_at: Mapped[datetime | None]
    # The ticket's thread still has to hear the answer (it reopened the ticket); set when told.
    tell_thread: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HelpResource(Base):
    """One entry of the directory of help: an organisation or a line families can turn to.

    ``categories`` and ``regions`` are lists of codes; empty means any kind of help / national.
    """

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_ru: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    about_ru: Mapped[str] = mapped_column(Text, default="")
    about_en: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[Any]] = mapped_column(default=list)
    regions: Mapped[list[Any]] = mapped_column(default=list)
    phone: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    hours_ru: Mapped[str] = mapped_column(Text, default="")
    hours_en: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Broadcast(Base):
    """An admin's announcement: what, to whom (a filter), when; its recipients are rows of their own."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[str] = mapped_column(String(64))  # the admin's person key: progress goes there
    text: Mapped[str] = mapped_column(Text)
    # The text by language ({"ru": ..., "en": ...}) when the admin wrote a second version; else None.
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    # The photo or document, as the admin's messenger keeps it (an Attachment's JSON), and the same
    # file on each other messenger once uploaded there ({"vk": Attachment JSON, ...}): once per
    # platform, never once per recipient. None until prepared; {} when nothing needs uploading.
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    files: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    paid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # Telegram's, fast
    audience: Mapped[dict[str, Any]]  # {"kind": "all" | "lang" | "platform" | "region" | "category", "value"}
    status: Mapped[str] = mapped_column(String(16))  # BroadcastStatus
    due_at: Mapped[datetime]
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class BroadcastRecipient(Base):
    """One person of one broadcast, written before the first message goes: exactly-once is decided here."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "person_id", name="uq_broadcast_recipients"),
        Index("ix_broadcast_recipients_state", "broadcast_id", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(16))  # RecipientStatus
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class BlockedPerson(Base):
    """A person blocked by a coordinator or admin for abuse: their new requests are kept, not posted."""

    __tablename__ = "blocked_people"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    blocked_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AwayCoordinator(Base):
    """A coordinator who said /away: nudges and escalations go to their group and the admins instead."""

    __tablename__ = "away_coordinators"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # "tg:123"
    since: Mapped[datetime] = mapped_column(default=utcnow)
