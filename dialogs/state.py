"""Typed dialog data (persisted as JSON) and the read-only views the engine gets from the use-case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from storage.vocabulary import AttachmentKind, Category, ContactMethod, TicketStatus


class Attachment(BaseModel):
    """A reference to a file kept by the platform (never the bytes)."""

    model_config = ConfigDict(frozen=True)

    kind: AttachmentKind
    ref: str
    name: str | None = None
    # Where another platform can fetch the file (VK's own links): lets a Telegram coordinator see
    # a photo sent from VK. Telegram files have none (their links would carry the bot's token).
    url: str | None = None


class Draft(BaseModel):
    """A help request being filled in."""

    model_config = ConfigDict(extra="ignore")

    category: Category | None = None
    answers: dict[str, list[str]] = Field(default_factory=dict)
    urgent: bool = False
    danger_now: bool | None = None
    danger: list[str] = Field(default_factory=list)
    emergency_shown: bool = False
    callback: bool = False
    children: int | None = None
    ages: list[int] = Field(default_factory=list)
    region_code: str | None = None
    region: str | None = None
    description: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    contact: ContactMethod | None = None
    phone: str | None = None

    @property
    def started(self) -> bool:
        """Anything answered at all: worth offering to continue."""
        return self != Draft()

    @property
    def has_under4(self) -> bool:
        return any(age < 4 for age in self.ages)


class DialogDataBase(BaseModel):
    """What every dialog remembers between steps; each dialog extends it with its own typed fields.
    Field names are persisted: a schema."""

    model_config = ConfigDict(extra="ignore")

    history: list[str] = Field(default_factory=list)
    return_to: str | None = None


class DialogData(DialogDataBase):
    """The family's dialog (triage, account, privacy). Field names are persisted: a schema."""

    draft: Draft | None = None
    # Where "Continue my request" returns to; the draft survives leaving the triage for the menu.
    draft_step: str | None = None
    editing: str | None = None
    rewrite: bool = False  # the description is being written anew (edit from the summary)
    page: int = 0
    ticket: int | None = None
    info_text: str = ""
    info_attachments: list[Attachment] = Field(default_factory=list)
    info_urgent: bool = False
    relay_urgent: bool = False  # danger words in a message passed to the coordinator
    # The request the summary's "send" created: pressed again (a crash hid the answer, a double tap),
    # it answers with that request's number instead of "an earlier message".
    sent: int | None = None
    # The follow-up being answered (its row id and ticket number), and the answer awaiting a comment.
    followup: int | None = None
    followup_ticket: int | None = None
    followup_answer: str | None = None
    appointment: int | None = None
    # The kind of help a start link (a poster's QR code) chose: the request begins with it once
    # consent is given and the danger question answered.
    entry_category: str | None = None


@dataclass(frozen=True)
class PersonView:
    key: str
    locale: str
    consent_version: str | None
    consent_at: datetime | None
    announcements: bool
    region: str | None
    created_at: datetime | None

    @property
    def consented(self) -> bool:
        return self.consent_version is not None


@dataclass(frozen=True)
class TicketView:
    id: int
    category: Category
    status: TicketStatus
    urgent: bool
    created_at: datetime
    description: str
    attachments: int
    phone: str | None
    region: str | None

    @property
    def is_open(self) -> bool:
        return self.status in (TicketStatus.NEW, TicketStatus.CLAIMED)
