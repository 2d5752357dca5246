"""A small dialog machine that knows no flow: turn, step, dialog, dispatch. Pure: no I/O.

A ``Dialog`` is assembled from its steps, commands and global actions, with its own typed data
model; the list of dialogs is spelled once (``dialogs.assembly``). Given the saved state, its data
and an event, ``Dialogs.step`` returns the next state, the screens to show and the effects to carry
out. Which dialog handles an event follows from the state it is in; a command of another dialog
that the person's role may use enters that dialog, and the one left is kept aside (``stash``) until
the person comes back to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Generic, TypeVar, cast

from dialogs.directory import Directory
from dialogs.effects import Effect, SetLocale
from dialogs.i18n import N_, Translator, Translators
from dialogs.primitives import (
    GLOBAL_STEP,
    Button,
    Event,
    Payload,
    Role,
    Screen,
    SystemEvent,
    Traits,
)
from dialogs.resources import Resource
from dialogs.state import Attachment, DialogDataBase, PersonView, TicketView

HISTORY_LIMIT = 30
START = "start"  # no dialog yet: the first event of a person
STASH_KEY = "_stash"  # in the persisted data: the data of dialogs left for another one
PENDING_KEY = "_pending"  # system events waiting for the end of the person's current step


@dataclass(frozen=True)
class Limits:
    description: int = 3500  # characters of "what happened", all messages together
    message: int = 4000  # one message; a longer one is refused with the limit stated
    attachments: int = 10
    short_text: int = 120  # a typed region name


@dataclass(frozen=True)
class Context:
    translators: Translators
    locale: str
    person: PersonView
    tickets: tuple[TicketView, ...]
    directory: Directory
    consent_version: str
    policy_url: str | None = None
    # A region's own service (ORG_NAME, ORG_HOTLINE): shown to families when set.
    org_name: str | None = None
    org_hotline: str | None = None
    limits: Limits = field(default_factory=Limits)
    traits: Traits = field(default_factory=Traits)
    role: Role = Role.FAMILY
    idle: bool = False  # the person has not answered for a while: a system event need not wait
    resources: tuple[Resource, ...] = ()  # the directory of help, as kept in the database
    zone: str = "Europe/Moscow"  # DEFAULT_TIMEZONE: the zone an admin's typed times are in
    # Per platform ("tg", "vk", "max"): the start of a link that opens the bot with a payload.
    start_links: Mapping[str, str] = field(default_factory=dict)
    # The admins' keys, ADMIN_IDS first, each with True when it is one of ADMIN_IDS (the root of trust).
    admins: tuple[tuple[str, bool], ...] = ()


D = TypeVar("D", bound=DialogDataBase)


class Turn(Generic[D]):
    """One event being handled: a working copy of the state and data, and what to show and do."""

    def __init__(self, dialog: Dialog[Any], state: str, data: D, ctx: Context, event: Event) -> None:
        self.dialog = dialog
        self.state = state
        self.data = data
        self.ctx = ctx
        self.event = event
        self.locale = ctx.locale
        self.tr: Translator = ctx.translators[ctx.locale]
        self.consented = ctx.person.consented
        self.announcements = ctx.person.announcements
        self.started_at = state
        self.screens: list[Screen] = []
        self.effects: list[Effect] = []
        self.notices: list[str] = []
        self.toast: str | None = None
        self.silent = False  # nothing more to show (quick exit)
        self.edit = False  # the re-rendered screen may replace the pressed message

    # ---- translation ----
    def _(self, message: str) -> str:
        return self.tr.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.tr.ngettext(singular, plural, n)

    def set_locale(self, locale: str) -> None:
        self.locale = locale
        self.tr = self.ctx.translators[locale]
        self.effects.append(SetLocale(locale))

    # ---- navigation ----
    def knows(self, state: str | None) -> bool:
        """Whether ``state`` is a step of this turn's dialog."""
        return state is not None and state in self.dialog.steps

    def go(self, state: str, *, remember: bool = True) -> None:
        if state == self.state:
            return
        if remember and self.knows(self.state):
            self.data.history = [*self.data.history, self.state][-HISTORY_LIMIT:]
        self.state = state

    def reset_to(self, state: str) -> None:
        self.data.history = []
        self.state = state

    def back(self) -> None:
        history = list(self.data.history)
        while history:
            previous = history.pop()
            if self.knows(previous):
                self.data.history = history
                self.state = previous
                return
        self.reset_to(self.dialog.home)

    # ---- output ----
    def notice(self, text: str) -> None:
        self.notices.append(text)

    def show(self, screen: Screen) -> None:
        self.screens.append(screen)

    def effect(self, effect: Effect) -> None:
        self.effects.append(effect)

    def button(self, label: str, value: str, step: str | None = None) -> Button:
        return Button(label=label, payload=Payload(step=step or self.state, value=value))

    def global_button(self, label: str, value: str) -> Button:
        return Button(label=label, payload=Payload(step=GLOBAL_STEP, value=value))


T = TypeVar("T", bound=Turn[Any])


class Step(Generic[T]):
    """One screen of a dialog: how it looks and what each kind of answer does."""

    name: str  # the state: persisted, a schema
    # Its on_media reads the file's bytes: the use-case fetches them before the turn's transaction.
    reads_files: ClassVar[bool] = False

    def render(self, t: T) -> Screen:
        raise NotImplementedError

    def on_button(self, t: T, value: str) -> None:
        t.notice(t._(N_("That button doesn't work here any more.")))

    def on_text(self, t: T, text: str) -> None:
        t.notice(t._(N_("Please choose one of the buttons below.")))

    def on_media(self, t: T, attachment: Attachment) -> None:
        t.notice(t._(N_("I can't take a file at this step. Please answer the question below.")))

    def on_contact(self, t: T, phone: str) -> None:
        t.notice(t._(N_("I don't need a phone number at this step. Please answer the question below.")))

    def on_other(self, t: T, what: str) -> None:
        """A sticker, a location, ...: something no step asks for."""
        if what == "sticker":
            t.notice(t._(N_("I can't read stickers, sorry. Please answer in words or with the buttons.")))
        else:
            t.notice(
                t._(N_("I can't use this kind of message here. Please answer in words or with the buttons."))
            )


Handler = Callable[[Any], None]


class Handlers:
    """Commands or global buttons of one dialog module, collected with a decorator."""

    def __init__(self) -> None:
        self.by_name: dict[str, Handler] = {}

    def __call__(self, *names: str) -> Callable[[Callable[[T], None]], Callable[[T], None]]:
        def register(handler: Callable[[T], None]) -> Callable[[T], None]:
            for name in names:
                if name in self.by_name:
                    raise ValueError(f"{name!r} is registered twice")
                self.by_name[name] = handler
            return handler

        return register


def stale_text(t: Turn[Any]) -> str:
    return t._(N_("That button belongs to an earlier message. Here is where we are now:"))


def too_long_text(t: Turn[Any], length: int, limit: int) -> str:
    return t.ngettext(
        "That message is too long for me: {length} characters, and I can take at most {limit} "
        "character at once. Please send it in several shorter messages.",
        "That message is too long for me: {length} characters, and I can take at most {limit} "
        "characters at once. Please send it in several shorter messages.",
        limit,
    ).format(length=length, limit=limit)


class Dialog(Generic[T]):
    """A flow assembled from its steps. Subclasses override the hooks to add their policy."""

    name: ClassVar[str]
    data_model: ClassVar[type[DialogDataBase]]
    turn_class: ClassVar[type[Turn[Any]]]
    home: ClassVar[str]  # where "back" from the first step and a reset lead
    roles: ClassVar[frozenset[Role]] = frozenset(Role)  # who may enter it
    entry_commands: ClassVar[frozenset[str]] = frozenset()  # commands that enter it from another dialog

    def __init__(
        self,
        steps: Iterable[Step[T]],
        commands: Handlers | None = None,
        actions: Handlers | None = None,
        *,
        entry: Iterable[str] | None = None,
    ) -> None:
        self.entry: frozenset[str] = type(self).entry_commands if entry is None else frozenset(entry)
        self.steps: dict[str, Step[T]] = {}
        for one in steps:
            if one.name in self.steps:
                raise ValueError(f"step {one.name!r} is defined twice in dialog {self.name!r}")
            self.steps[one.name] = one
        self.commands: Mapping[str, Handler] = commands.by_name if commands else {}
        self.actions: Mapping[str, Handler] = actions.by_name if actions else {}

    # ---- hooks ----
    def turn(self, state: str, data: DialogDataBase, ctx: Context, event: Event) -> T:
        # ``data`` is always an instance of ``data_model`` (see ``_validated``), the turn's own type.
        return cast(T, self.turn_class(self, state, data, ctx, event))

    def start(self, t: T, event: Event) -> None:
        """A first contact (no saved state): by default, the home step."""
        t.reset_to(self.home)

    def on_text(self, t: T, text: str) -> None:
        if len(text) > t.ctx.limits.message:
            t.notice(too_long_text(t, len(text), t.ctx.limits.message))
            return
        self.steps[t.state].on_text(t, text)

    def on_media(self, t: T, event: Event) -> None:
        if event.attachment is not None:
            self.steps[t.state].on_media(t, event.attachment)

    def on_event(self, t: T, event: Event) -> None:
        """Events produced by the use-case (a ticket created, ...): the step decides."""
        self.steps[t.state].on_other(t, event.what)

    def on_system(self, t: T, system: SystemEvent) -> None:
        """One hook for everything the system starts (follow-ups, offers, announcements): its text, and
        the step that takes the answer, when the event names one of this dialog's steps."""
        t.show(system.screen(t))
        if system.step is not None and t.knows(system.step):
            t.data.return_to = t.state
            t.go(system.step, remember=False)

    def cancel(self, t: T) -> None:
        t.reset_to(self.home)

    def on_stale(self, t: T, payload: Payload) -> bool:
        """A button of an earlier screen: True when the dialog answered it itself."""
        return False

    def is_busy(self, state: str) -> bool:
        """In the middle of a step: a system event waits until the person has answered it."""
        return state != self.home

    def finish(self, t: T) -> None:
        """After the step: render the current screen (with what the turn noticed on top)."""
        if t.silent:
            return
        screen = self.decorate(t, self.steps[t.state].render(t))
        if t.notices:
            screen = replace(screen, text="\n\n".join([*t.notices, screen.text]))
        elif t.edit and not t.screens:
            screen = replace(screen, edit=True)
        t.screens.append(screen)

    def decorate(self, t: T, screen: Screen) -> Screen:
        return screen
