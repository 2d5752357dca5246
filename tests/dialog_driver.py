"""Drive the pure dialog engine like the use-case does, with effects simulated in memory."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from dialogs import engine
from dialogs.assembly import assemble
from dialogs.directory import Directory
from dialogs.effects import (
    AddTicketInfo,
    CreateTicket,
    DeleteMyData,
    GiveConsent,
    SetAnnouncements,
    SetLocale,
    WithdrawTicket,
)
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Outcome, Payload, Screen
from dialogs.state import Attachment, DialogData, Draft, PersonView, TicketView
from storage.vocabulary import AttachmentKind, Category, TicketStatus

DIALOGS = assemble()


@dataclass
class DialogDriver:
    translators: Translators
    directory: Directory
    locale: str = "ru"
    consent: str | None = None
    announcements: bool = False
    state: str | None = None
    data: DialogData = field(default_factory=DialogData)
    tickets: list[TicketView] = field(default_factory=list)
    created: list[Draft] = field(default_factory=list)
    added: list[AddTicketInfo] = field(default_factory=list)
    erased: int = 0
    deleted: int = 0
    last: Outcome | None = None

    def reset(self, *, consent: str | None, locale: str) -> None:
        self.state, self.data, self.created, self.tickets, self.last = None, DialogData(), [], [], None
        self.consent, self.locale = consent, locale

    def context(self) -> engine.Context:
        person = PersonView(
            key="tg:1",
            locale=self.locale,
            consent_version=self.consent,
            consent_at=datetime(2026, 11, 1, tzinfo=UTC) if self.consent else None,
            announcements=self.announcements,
            region=None,
            created_at=None,
        )
        return engine.Context(
            translators=self.translators,
            locale=self.locale,
            person=person,
            tickets=tuple(self.tickets),
            directory=self.directory,
            consent_version="test-1",
        )

    def send(self, event: Event) -> list[Screen]:
        outcome = DIALOGS.step(self.state, self.data, event, self.context())
        screens = list(outcome.screens)
        for _ in range(3):
            follow_up = self._apply(outcome)
            if follow_up is None:
                break
            outcome = DIALOGS.step(outcome.state, outcome.persisted(), follow_up, self.context())
            screens += outcome.screens
        assert isinstance(outcome.data, DialogData)
        self.state, self.data, self.last = outcome.state, outcome.data, replace(outcome, screens=screens)
        return screens

    def _apply(self, outcome: Outcome) -> Event | None:
        follow_up = None
        for effect in outcome.effects:
            match effect:
                case SetLocale(locale=locale):
                    self.locale = locale
                case GiveConsent(version=version):
                    self.consent = version
                case SetAnnouncements(enabled=enabled):
                    self.announcements = enabled
                case CreateTicket(draft=draft):
                    self.created.append(draft)
                    number = 100 + len(self.created)
                    self.tickets.insert(
                        0,
                        TicketView(
                            id=number,
                            category=draft.category or Category.OTHER,
                            status=TicketStatus.NEW,
                            urgent=draft.urgent,
                            created_at=datetime.now(UTC),
                            description=draft.description,
                            attachments=len(draft.attachments),
                            phone=draft.phone,
                            region=draft.region,
                        ),
                    )
                    follow_up = Event(kind=EventKind.TICKET_CREATED, number=number)
                case AddTicketInfo():
                    self.added.append(effect)
                case WithdrawTicket(ticket_id=ticket_id):
                    self.tickets = [
                        replace(t, status=TicketStatus.WITHDRAWN) if t.id == ticket_id else t
                        for t in self.tickets
                    ]
                case DeleteMyData():
                    self.deleted += 1
                    self.consent = None
                    self.tickets = []
                case _:
                    self.erased += 1
        if any(isinstance(e, DeleteMyData) for e in outcome.effects):
            outcome.state, outcome.data = "start", DialogData()
        return follow_up

    # ---- conveniences ----
    def text(self, text: str) -> list[Screen]:
        return self.send(Event(kind=EventKind.TEXT, text=text))

    def command(self, name: str) -> list[Screen]:
        return self.send(Event(kind=EventKind.COMMAND, command=name, text=f"/{name}"))

    def press(self, value: str, step: str | None = None) -> list[Screen]:
        payload = Payload(step=step or (self.state or "start"), value=value)
        return self.send(Event(kind=EventKind.BUTTON, payload=payload))

    def press_label(self, fragment: str) -> list[Screen]:
        """Press the button whose label contains ``fragment`` on the last screen with buttons."""
        payload = self.find_button(fragment)
        return self.send(Event(kind=EventKind.BUTTON, payload=payload))

    def find_button(self, fragment: str) -> Payload:
        assert self.last is not None
        for screen in reversed(self.last.screens):
            for row in screen.buttons:
                for button in row:
                    if fragment in button.label and button.payload is not None:
                        return button.payload
        labels = [b.label for s in self.last.screens for r in s.buttons for b in r]
        raise AssertionError(f"no button with {fragment!r}; buttons: {labels}")

    def photo(self, caption: str = "") -> list[Screen]:
        attachment = Attachment(kind=AttachmentKind.PHOTO, ref=f"tg:photo{len(self.data.model_dump_json())}")
        return self.send(Event(kind=EventKind.MEDIA, attachment=attachment, text=caption))

    def contact(self, phone: str) -> list[Screen]:
        return self.send(Event(kind=EventKind.CONTACT, phone=phone))

    def sticker(self) -> list[Screen]:
        return self.send(Event(kind=EventKind.UNSUPPORTED, what="sticker"))

    @property
    def texts(self) -> str:
        assert self.last is not None
        return "\n".join(s.text for s in self.last.screens)
