"""Effects: what a turn asks the use-case to carry out, in the same transaction as the new state.

Plain data (the dialogs decide, ``handlers`` carry out). Kept apart from ``dialogs.primitives`` so
that module stays a size one can read.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.admin_effects import ChangeAdmin, SendQrCodes
from dialogs.resources import Resource
from dialogs.state import Attachment, Draft


@dataclass(frozen=True)
class SetLocale:
    locale: str


@dataclass(frozen=True)
class GiveConsent:
    version: str


@dataclass(frozen=True)
class SetAnnouncements:
    enabled: bool
    reason: str | None = None  # why a family unsubscribed (one tap, optional): for the figures


@dataclass(frozen=True)
class SendBroadcast:
    """The admin's announcement: sent now (``when`` None) or at local day, month, hour, minute in ``zone``."""

    text: str
    audience: tuple[str, str]  # (kind, value): see storage.vocabulary.AUDIENCE_KINDS
    when: tuple[int, int, int, int] | None = None
    zone: str = "Europe/Moscow"
    texts: dict[str, str] | None = None  # by language, when the admin wrote a second version
    attachment: Attachment | None = None  # a photo or a document, as the admin's messenger keeps it
    paid: bool = False  # Telegram's paid broadcast: the admin confirmed its cost


@dataclass(frozen=True)
class PricePaid:
    """How much Telegram's paid broadcast of this audience costs, and the bot's Stars balance."""

    audience: tuple[str, str]


@dataclass(frozen=True)
class CountAudience:
    audience: tuple[str, str]


@dataclass(frozen=True)
class CancelBroadcasts:
    """Every broadcast waiting or being sent is called off."""


@dataclass(frozen=True)
class CreateTicket:
    draft: Draft


@dataclass(frozen=True)
class AddTicketInfo:
    ticket_id: int
    text: str
    attachments: tuple[Attachment, ...]
    urgent: bool


@dataclass(frozen=True)
class RelayToTicket:
    """Pass the parent's message (as it is) to the thread of their open ticket."""

    ticket_id: int
    text: str
    attachment: Attachment | None
    urgent: bool


@dataclass(frozen=True)
class AddPhone:
    """A phone number shared for an open ticket: only its assignee may see it."""

    ticket_id: int
    phone: str


@dataclass(frozen=True)
class WithdrawTicket:
    ticket_id: int


@dataclass(frozen=True)
class EraseChat:
    """Delete this conversation's messages from the parent's chat (after the commit)."""


@dataclass(frozen=True)
class DeleteMyData:
    pass


@dataclass(frozen=True)
class AnswerFollowUp:
    """The family answered a follow-up (the offer: allow / deny; a check-in: yes / partly / no)."""

    followup_id: int
    answer: str
    comment: str | None = None


@dataclass(frozen=True)
class RateFollowUp:
    followup_id: int
    rating: int


@dataclass(frozen=True)
class AnswerAppointment:
    """The family's answer to an appointment: confirmed, declined, or another time (in words)."""

    appointment_id: int
    answer: str
    proposal: str | None = None


@dataclass(frozen=True)
class SaveResource:
    """Add (no id) or change a resource of the directory of help (admins only)."""

    resource: Resource


@dataclass(frozen=True)
class RemoveResource:
    resource_id: int


@dataclass(frozen=True)
class ImportDirectory:
    """Replace the directory with a CSV file the admin sent; ``regions``: the known region codes."""

    attachment: Attachment
    regions: frozenset[str]


@dataclass(frozen=True)
class ExportDirectory:
    pass


@dataclass(frozen=True)
class ShowFigures:
    """Count the requests of the last ``days`` days (anonymous figures only)."""

    days: int
    export: bool = False  # also send them as a CSV file


Effect = (
    SetLocale
    | GiveConsent
    | SetAnnouncements
    | SendBroadcast
    | PricePaid
    | CountAudience
    | CancelBroadcasts
    | CreateTicket
    | AddTicketInfo
    | RelayToTicket
    | AddPhone
    | WithdrawTicket
    | EraseChat
    | DeleteMyData
    | AnswerFollowUp
    | RateFollowUp
    | AnswerAppointment
    | SaveResource
    | RemoveResource
    | ImportDirectory
    | ExportDirectory
    | ShowFigures
    | SendQrCodes
    | ChangeAdmin
)
