"""The domain vocabulary shared by every layer.

Values are persisted (database columns, dialog state, button payloads): treat them as a schema and
never rename one without a migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    TELEGRAM = "tg"
    VK = "vk"
    MAX = "max"


class Category(StrEnum):
    PSYCHOLOGICAL = "psychological"
    LEGAL = "legal"
    HUMANITARIAN = "humanitarian"
    HOUSING = "housing"
    OTHER = "other"


class TicketStatus(StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    HELD = "held"  # sent by a blocked person: kept (nothing is lost), never posted to coordinators


OPEN_STATUSES: frozenset[TicketStatus] = frozenset({TicketStatus.NEW, TicketStatus.CLAIMED})


class ContactMethod(StrEnum):
    CHAT = "chat"
    PHONE = "phone"


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO = "video"
    VIDEO_NOTE = "video_note"


class OutboxKind(StrEnum):
    """What the delivery worker has to send: mostly news of a ticket for the coordinators."""

    TICKET_CREATED = "ticket_created"
    TICKET_INFO_ADDED = "ticket_info_added"
    TICKET_WITHDRAWN = "ticket_withdrawn"
    FAMILY_MESSAGE = "family_message"  # copy a family's message into the ticket's thread
    TICKET_FILES = "ticket_files"  # the files of a ticket (or of an added entry), under its card
    # A message about no ticket: payload {"chat": "tg:-100...", "text": HTML, "priority": Priority value}.
    MESSAGE = "message"


class Outcome(StrEnum):
    """How a ticket was closed."""

    HELPED = "helped"
    REFERRED = "referred"
    UNREACHABLE = "unreachable"
    DUPLICATE = "duplicate"
    NOT_OUR_PROFILE = "not_ours"


def person_key(platform: Platform, external_id: int) -> str:
    """The platform-qualified neutral id: ``tg:123``, ``vk:456``."""
    return f"{platform.value}:{external_id}"


def parse_person_key(value: str) -> tuple[Platform, int]:
    """Parse ``tg:123`` / ``vk:456``; a bare number means Telegram. Raises ValueError."""
    text = value.strip()
    if ":" in text:
        prefix, _, number = text.partition(":")
        platform = Platform(prefix.strip().lower())
    else:
        platform, number = Platform.TELEGRAM, text
    ident = int(number.strip())
    if not -(2**63) <= ident < 2**63:
        raise ValueError(f"id out of the 64-bit range: {value!r}")
    return platform, ident


class ChatKind(StrEnum):
    PRIVATE = "private"  # a person's one-to-one chat with the bot
    GROUP = "group"  # a group chat: a Telegram group or supergroup, a VK conversation, a MAX group chat


# VK numbers its conversations (peer ids) from here on; a smaller positive peer id is a person.
VK_CHAT_PEER_START = 2_000_000_000


@dataclass(frozen=True, slots=True)
class ChatRef:
    """One chat, typed: which platform, which id there, and what kind of chat it is.

    Parsed once at the edge (a transport, a setting, a stored column); handlers never split strings.
    """

    platform: Platform
    id: int
    kind: ChatKind

    @property
    def key(self) -> str:
        """The neutral id as stored: ``tg:-100123``, ``vk:2000000001``."""
        return person_key(self.platform, self.id)

    @property
    def is_private(self) -> bool:
        return self.kind is ChatKind.PRIVATE

    def __str__(self) -> str:
        return self.key

    @classmethod
    def of(cls, platform: Platform, chat_id: int) -> ChatRef:
        """The kind follows from the id on every platform we serve (Telegram groups are negative).

        MAX: a private chat is kept under the person's user id (positive; MAX's own dialog ids are
        never stored) and a group chat under MAX's chat id, which is negative for group chats. The
        MAX transport builds its ChatRefs from MAX's chat type and refuses a group whose id breaks
        this rule, so a stored key always parses back to the kind it was stored with.
        """
        private = 0 < chat_id < VK_CHAT_PEER_START if platform is Platform.VK else chat_id > 0
        return cls(platform, chat_id, ChatKind.PRIVATE if private else ChatKind.GROUP)

    @classmethod
    def parse(cls, value: str) -> ChatRef:
        """``tg:123`` / ``vk:2000000001`` / a bare number (Telegram). Raises ValueError."""
        return cls.of(*parse_person_key(value))


class FollowUpKind(StrEnum):
    """What a follow-up row sends. Persisted (followups.kind): a schema."""

    OFFER = "offer"  # may we check in with you later? (asked when the ticket is closed)
    CHECKIN = "checkin"  # did you get the help you needed?
    APPOINTMENT = "appt"  # an appointment offered: confirm / can't come / another time
    REMINDER = "appt_remind"  # an appointment is near
    CANCELLED = "appt_cancel"  # the appointment is off
    NUDGE = "nudge"  # to the coordinators: the family has waited a day for an answer


class FollowUpStatus(StrEnum):
    """Where a follow-up row is. Persisted (followups.status): a schema."""

    HELD = "held"  # scheduled, waiting for the family's yes to the offer
    PENDING = "pending"  # due at due_at
    SENDING = "sending"  # claimed by a runner until lease_until
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"  # fell due more than FOLLOWUP_EXPIRE ago (the bot was down)
    SKIPPED = "skipped"  # unreachable, data deleted, ticket reopened in the meantime
    CANCELLED = "cancelled"  # the family said no to check-ins
    FAILED = "failed"  # the platform refused it (VK 943/944, repeated failures)


class AppointmentStatus(StrEnum):
    """Persisted (appointments.status): a schema. The family's answers are the last three."""

    OFFERED = "offered"
    CANCELLED = "cancelled"  # by the coordinator, or replaced by a new /appoint
    CONFIRMED = "confirmed"
    DECLINED = "declined"  # can't come
    OTHER_TIME = "other_time"  # suggests another time, in words


class FollowUpAnswer(StrEnum):
    """The family's answers. Persisted (followups.answer): a schema."""

    ALLOW = "allow"
    DENY = "deny"
    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class BroadcastStatus(StrEnum):
    """Where a broadcast is. Persisted (broadcasts.status): a schema."""

    SCHEDULED = "scheduled"  # waits for due_at; its recipients are not written yet
    SENDING = "sending"  # recipients written; the sender works through them
    DONE = "done"
    CANCELLED = "cancelled"


class RecipientStatus(StrEnum):
    """Where one recipient of a broadcast is. Persisted (broadcast_recipients.status): a schema."""

    PENDING = "pending"  # to send; ``lease_until`` set: claimed by a runner (or held by quiet hours)
    SENDING = "sending"  # handed to the platform: never sent again, whatever happens (at most once)
    SENT = "sent"
    UNREACHABLE = "unreachable"  # blocked the bot
    FAILED = "failed"
    REFUSED = "refused"  # the platform refused the announcement's intent (VK 943/944): not retried
    SKIPPED = "skipped"  # opted out, erased their data, or the broadcast was cancelled


AUDIENCE_KINDS = ("all", "lang", "platform", "region", "category")
