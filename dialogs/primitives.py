"""Conversation primitives: what comes in (events), what goes out (screens), a turn's outcome (its
effects are in ``dialogs.effects``).

Payload prefixes, step names and values are persisted in chats (button payloads) and in the dialog
state table: treat them as a schema.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from dialogs.effects import Effect
from dialogs.state import Attachment, DialogDataBase
from storage.vocabulary import Platform

PAYLOAD_PREFIX = "d"
GLOBAL_STEP = "*"
# Telegram allows 64 bytes of callback data; VK 255 bytes of payload. We stay within the smaller.
MAX_PAYLOAD_BYTES = 64


class Payload(BaseModel):
    """What a button carries: the step it belongs to and the value chosen. It carries no rights."""

    model_config = ConfigDict(frozen=True)

    step: str
    value: str

    @field_validator("step", "value")
    @classmethod
    def _no_separator(cls, v: str) -> str:
        # ":" separates the parts (the same format as aiogram's CallbackData): it cannot be inside one.
        if not v or ":" in v:
            raise ValueError("payload parts must be non-empty and contain no ':'")
        return v

    def pack(self) -> str:
        packed = f"{PAYLOAD_PREFIX}:{self.step}:{self.value}"
        if len(packed.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload too long: {packed!r}")
        return packed

    @classmethod
    def unpack(cls, raw: str) -> Payload | None:
        """Parse a packed payload; None for anything forged or malformed."""
        if not isinstance(raw, str) or len(raw.encode()) > MAX_PAYLOAD_BYTES:
            return None
        parts = raw.split(":")
        if len(parts) != 3 or parts[0] != PAYLOAD_PREFIX or not parts[1] or not parts[2]:
            return None
        return cls(step=parts[1], value=parts[2])


class Role(StrEnum):
    """Who the person in a private chat is: decided once, by the inbound router."""

    FAMILY = "family"
    ADMIN = "admin"


class PayloadCodec(BaseModel):
    """A typed button payload, made where its screen is made and parsed by the handler it reaches:
    the idea of aiogram's ``CallbackData``, platform-neutral (Telegram callback data, VK payloads).

    Fields are packed in order into ``Payload.value``, joined by ``SEPARATOR``; the last field may
    itself contain it. A payload that does not parse (forged, or from an older version) is None.
    """

    model_config = ConfigDict(frozen=True)

    STEP: ClassVar[str]  # the payload's step: persisted in chats, a schema
    SEPARATOR: ClassVar[str] = "."

    def pack(self) -> Payload:
        values = [str(getattr(self, name)) for name in type(self).model_fields]
        while len(values) > 1 and values[-1] == "":
            values.pop()  # trailing empty fields are not written (they come back as defaults)
        return Payload(step=self.STEP, value=self.SEPARATOR.join(values))

    @classmethod
    def unpack(cls, payload: Payload | None) -> Self | None:
        if payload is None or payload.step != cls.STEP:
            return None
        names = list(cls.model_fields)
        parts = payload.value.split(cls.SEPARATOR, len(names) - 1)
        try:
            return cls.model_validate(dict(zip(names, parts, strict=False)))
        except ValidationError:
            return None


class EventKind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    MEDIA = "media"
    CONTACT = "contact"
    UNSUPPORTED = "unsupported"
    # Produced by the use-case after carrying out an effect, fed back into the engine.
    TICKET_CREATED = "ticket_created"
    TICKET_MERGED = "ticket_merged"  # the request joined the family's open one in the same category
    TICKET_HELD = "ticket_held"  # from a blocked person: kept, not posted to coordinators
    TICKET_REFUSED = "ticket_refused"  # the person has as many open requests as one may have
    # Started by the system (a follow-up, an offer, an announcement), not by the person.
    SYSTEM = "system"
    # What an admin's effect found (an import's errors, figures): ``system`` says it.
    REPORT = "report"
    # The use-case's answer to the admin's broadcast wizard: ``what`` says which, ``number`` how many.
    BROADCAST = "broadcast"
    # Someone left (or was removed from) a group chat, or joined it: ``Inbound.user_id`` says who.
    MEMBER_LEFT = "member_left"
    MEMBER_JOINED = "member_joined"


class Speaks(Protocol):
    """Anything that can translate: a dialog turn, or a card rendered for a coordinators' chat."""

    locale: str

    def _(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class SystemEvent(BaseModel):
    """What the system tells a person through their dialog. Kinds and fields are persisted (a schema):
    an event that waits for the end of the person's current step is saved with the dialog state."""

    model_config = ConfigDict(frozen=True)

    kind: ClassVar[str]
    step: ClassVar[str | None] = None  # the step that takes the person's answer, if one is expected
    # Why the system writes first, for platforms that ask (VK's messages.send ``intent``): None for an
    # ordinary message; "confirmed_notification" for what the person agreed to receive.
    intent: ClassVar[str | None] = None
    _kinds: ClassVar[dict[str, type[SystemEvent]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            SystemEvent._kinds[cls.kind] = cls

    def render(self, t: Speaks) -> str:
        """The text to show, in the person's language."""
        raise NotImplementedError

    def screen(self, t: Speaks) -> Screen:
        """What the person sees: by default the text alone (an announcement adds its buttons)."""
        return Screen(text=self.render(t))

    def dump(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.model_dump(mode="json")}

    @classmethod
    def load(cls, raw: Any) -> SystemEvent | None:
        """A saved event; None for one this version does not know (never a crash)."""
        if not isinstance(raw, dict):
            return None
        model = cls._kinds.get(str(raw.get("kind")))
        if model is None:
            return None
        try:
            return model.model_validate({k: v for k, v in raw.items() if k != "kind"})
        except ValidationError:
            return None


class Notice(SystemEvent):
    """A plain message: ``message`` is a gettext msgid (``N_``), ``params`` fill it after translating."""

    kind: ClassVar[str] = "notice"
    message: str
    params: dict[str, str | int] = {}

    def render(self, t: Speaks) -> str:
        return t._(self.message).format(**self.params)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    text: str = ""
    command: str = ""
    payload: Payload | None = None
    attachment: Attachment | None = None
    phone: str | None = None
    what: str = ""  # for UNSUPPORTED: "sticker", "location", ...
    number: int = 0  # for TICKET_CREATED
    # For TICKET_CREATED / TICKET_MERGED outside the coordinators' working hours: when they are back.
    opens: datetime | None = None
    system: SystemEvent | None = None  # for SYSTEM


def text_event(text: str) -> Event:
    """Typed text as an event: "/name args" is a command on every platform."""
    words = text[1:].split(maxsplit=1) if text.startswith("/") else []
    if words:  # "/" with nothing after it but spaces is a text (it raised IndexError)
        name = words[0].split("@", 1)[0]
        return Event(kind=EventKind.COMMAND, command=name.lower(), text=text)
    return Event(kind=EventKind.TEXT, text=text)


@dataclass(frozen=True)
class Traits:
    """What the person's messenger can do, so the dialogs say the right thing on each platform."""

    app: str = "Telegram"
    share_contact: bool = True  # a button that shares the phone number (else it is typed)
    erase_hours: int = 48  # how far back the bot may delete its own and the person's messages


@dataclass(frozen=True)
class Incoming:
    """A neutral event with its envelope: who, where, which platform update."""

    platform: Platform
    user_id: int
    chat_id: int
    event: Event
    update_id: int | None = None
    message_id: int | None = None  # the parent's own message, or the message whose button was pressed
    language_code: str | None = None
    reply_to: int | None = None  # the message the parent replied to, if any
    # ``message_id`` is the parent's own message even for a button (VK text buttons send one).
    own_message: bool = False
    role: Role = Role.FAMILY


@dataclass(frozen=True)
class Button:
    label: str
    payload: Payload | None = None
    url: str | None = None


@dataclass(frozen=True)
class Screen:
    """What to show. ``text`` is a small HTML subset (<b>, <i>); user text in it is escaped."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # A reply keyboard: plain text buttons, optionally the platform's "share my phone" button first.
    reply_buttons: tuple[str, ...] = ()
    request_contact: str | None = None  # label of the share-contact button
    remove_reply_keyboard: bool = False
    protect: bool = False  # sensitive: the platform should not allow forwarding or saving
    edit: bool = False  # may replace the message whose button was pressed (toggles, paging)
    force_reply: bool = False  # ask the reader to answer with a reply to this message (group prompts)
    # Why the system writes first (see SystemEvent.intent); platforms that do not ask ignore it.
    intent: str | None = None
    # A photo or a document shown with the text (an announcement's): the same file as each messenger
    # keeps it; a messenger sends its own one (by its ref prefix), with the text as its caption.
    files: tuple[Attachment, ...] = ()
    # Telegram's paid broadcast (an urgent announcement): faster, for a fee; others ignore it.
    paid: bool = False


_PLAIN_SCREEN_FIELDS = tuple(
    f.name for f in dataclasses.fields(Screen) if f.name not in {"buttons", "reply_buttons", "files"}
)


def screen_to_json(screen: Screen) -> dict[str, Any]:
    """A screen as kept with its update until it is sent (a crash in between shows it after a restart)."""
    # Field by field: ``dataclasses.asdict`` deep-copied every button's payload only to be replaced
    # below, on every turn of every family.
    saved: dict[str, Any] = {name: getattr(screen, name) for name in _PLAIN_SCREEN_FIELDS}
    saved["reply_buttons"] = list(screen.reply_buttons)
    saved["files"] = [f.model_dump(mode="json") for f in screen.files]
    saved["buttons"] = [
        [{"label": b.label, "url": b.url, "payload": b.payload.pack() if b.payload else None} for b in row]
        for row in screen.buttons
    ]
    return saved


def screen_from_json(raw: dict[str, Any]) -> Screen:
    rows = tuple(
        tuple(
            Button(
                label=b["label"],
                url=b.get("url"),
                payload=Payload.unpack(b["payload"]) if b.get("payload") else None,
            )
            for b in row
        )
        for row in raw.get("buttons", [])
    )
    fields = {f.name for f in dataclasses.fields(Screen)} - {"buttons", "reply_buttons", "files"}
    return Screen(
        buttons=rows,
        reply_buttons=tuple(raw.get("reply_buttons", ())),
        files=tuple(Attachment.model_validate(f) for f in raw.get("files", ())),
        **{k: v for k, v in raw.items() if k in fields},
    )


@dataclass
class Outcome:
    state: str
    data: DialogDataBase
    screens: list[Screen] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    toast: str | None = None  # a short popup answer to a button press
    stash: dict[str, dict[str, Any]] = field(default_factory=dict)  # data of dialogs left for this one
    pending: list[dict[str, Any]] = field(default_factory=list)  # system events deferred to the next step

    def persisted(self) -> dict[str, Any]:
        """The dialog data as saved with the state (JSON)."""
        saved = self.data.model_dump(mode="json")
        if self.stash:
            saved["_stash"] = self.stash
        if self.pending:
            saved["_pending"] = self.pending
        return saved
