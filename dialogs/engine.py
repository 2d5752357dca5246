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

from pydantic import BaseModel, ValidationError

from dialogs.directory import Directory
from dialogs.effects import Effect, SetLocale
from dialogs.i18n import N_, Translator, Translators
from dialogs.primitives import (
    GLOBAL_STEP,
    Button,
    Event,
    EventKind,
    Outcome,
    Payload,
    Role,
    Screen,
    SystemEvent,
    Traits,
)
from dialogs.resources import Resource
from dialogs.state import Attachment, DialogDataBase, PersonView, TicketView
from dialogs.validate import clean_text

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


class Dialogs:
    """The assembled dialogs: which one owns a state, and one event handled by the right one."""

    def __init__(self, dialogs: Iterable[Dialog[Any]], *, default: str) -> None:
        self.by_name: dict[str, Dialog[Any]] = {}
        self.owner: dict[str, Dialog[Any]] = {}
        for dialog in dialogs:
            if dialog.name in self.by_name:
                raise ValueError(f"dialog {dialog.name!r} is assembled twice")
            self.by_name[dialog.name] = dialog
            for name in dialog.steps:
                if name in self.owner or name in (START, GLOBAL_STEP):
                    raise ValueError(f"state {name!r} belongs to two dialogs")
                self.owner[name] = dialog
        self.default = self.by_name[default]

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.owner)

    def reads_files(self, state: str | None) -> bool:
        """Whether a file sent at ``state`` will be read (so it is worth fetching before the turn)."""
        dialog = self.owner.get(state or "")
        return dialog is not None and dialog.steps[state or ""].reads_files

    def step(
        self,
        state: str | None,
        data: Mapping[str, Any] | DialogDataBase,
        event: Event,
        ctx: Context,
    ) -> Outcome:
        """Handle one event. Pure: the given data is not modified; the outcome carries new data."""
        raw = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
        stash: dict[str, dict[str, Any]] = dict(raw.pop(STASH_KEY, None) or {})
        loaded = (SystemEvent.load(item) for item in raw.pop(PENDING_KEY, None) or [])
        pending = [p for p in loaded if p is not None]
        dialog = self.owner.get(state or "", self.default)
        if state not in self.owner:
            state = START
        elif ctx.role not in dialog.roles and event.kind is not EventKind.SYSTEM:
            # No longer allowed there (removed from ADMIN_IDS): back to the default dialog, checked on
            # every turn of the person's own, whatever the saved state or a button says. (The system's
            # turns carry no role: an admin's announcement waits for the end of the wizard's step.)
            stash.pop(dialog.name, None)
            raw, dialog = stash.pop(self.default.name, {}), self.default
            state = dialog.home
        if event.kind is EventKind.COMMAND and event.command.lower() not in dialog.commands:
            entered = self._entered_by(event.command.lower(), ctx.role)
            if entered is not None and entered is not dialog:
                stash[dialog.name] = _validated(dialog, raw).model_dump(mode="json")
                raw, dialog, state = stash.pop(entered.name, {}), entered, entered.home
        t = dialog.turn(state, _validated(dialog, raw), ctx, event)
        if event.kind is EventKind.SYSTEM and event.system is not None and state != START:
            if dialog.is_busy(state) and not ctx.idle:
                pending.append(event.system)  # after the person's answer to this step, not on top of it
            else:
                self._system(t, [event.system], render_step=dialog.is_busy(state))
        else:
            if state == START:
                dialog.start(t, event)
            else:
                self._dispatch(t, event)
            t = self._settle(t, stash)
            t.dialog.finish(t)
            if pending and not t.dialog.is_busy(t.state):
                self._system(t, pending, render_step=False)  # the person's step first, then the system's
                pending = []
        return Outcome(
            state=t.state,
            data=t.data,
            screens=t.screens,
            effects=t.effects,
            toast=t.toast,
            stash=stash,
            pending=[p.dump() for p in pending],
        )

    def _system(self, t: Turn[Any], events: list[SystemEvent], *, render_step: bool) -> None:
        """What the system has to say; the step is shown again only when the person was in the middle
        of it, or when the event led somewhere else (an answer is expected there)."""
        before = t.state
        for system in events:
            t.dialog.on_system(t, system)
        if render_step or t.state != before:
            t.notices = []
            t.dialog.finish(t)

    def _entered_by(self, command: str, role: Role) -> Dialog[Any] | None:
        for dialog in self.by_name.values():
            if command in dialog.entry and role in dialog.roles:
                return dialog
        return None

    def _settle(self, t: Turn[Any], stash: dict[str, dict[str, Any]]) -> Turn[Any]:
        """A step may lead into another dialog's state: that dialog takes over, with its own data."""
        target = self.owner.get(t.state)
        if target is None or target is t.dialog:
            return t
        stash[t.dialog.name] = t.data.model_dump(mode="json")
        data = _validated(target, stash.pop(target.name, {}))
        following: Turn[Any] = target.turn(t.state, data, t.ctx, t.event)
        following.locale, following.tr = t.locale, t.tr
        following.screens, following.effects, following.notices = t.screens, t.effects, t.notices
        following.toast, following.silent, following.consented = t.toast, t.silent, t.consented
        following.announcements = t.announcements
        return following

    def _dispatch(self, t: Turn[Any], event: Event) -> None:
        dialog = t.dialog
        match event.kind:
            case EventKind.COMMAND:
                handler = dialog.commands.get(event.command.lower())
                if handler is None:
                    t.notice(
                        t._(N_("I don't know this command. The menu button lists the ones I understand."))
                    )
                else:
                    handler(t)
            case EventKind.BUTTON:
                self._on_button(t, event.payload)
            case EventKind.TEXT:
                text = clean_text(event.text)
                if not text:
                    t.notice(t._(N_("Your message was empty. Please write in words or use the buttons.")))
                else:
                    dialog.on_text(t, text)
            case EventKind.MEDIA if event.attachment is not None:
                dialog.on_media(t, event)
            case EventKind.CONTACT if event.phone:
                dialog.steps[t.state].on_contact(t, event.phone)
            case EventKind.SYSTEM if event.system is not None:
                dialog.on_system(t, event.system)
            case _:
                dialog.on_event(t, event)

    def _on_button(self, t: Turn[Any], payload: Payload | None) -> None:
        if payload is None:
            t.toast = t._(N_("This button is out of date."))
            t.notice(stale_text(t))
            return
        if payload.step == GLOBAL_STEP:
            action = t.dialog.actions.get(payload.value)
            if action is None:
                t.toast = t._(N_("This button is out of date."))
                t.notice(stale_text(t))
            else:
                action(t)
            return
        if payload.step != t.state:
            if t.dialog.on_stale(t, payload):
                return
            t.toast = t._(N_("This button is from an earlier question."))
            t.notice(stale_text(t))
            return
        if payload.value == "back":
            t.back()
        elif payload.value == "cancel":
            t.dialog.cancel(t)
        else:
            t.dialog.steps[t.state].on_button(t, payload.value)


def _validated(dialog: Dialog[Any], raw: Mapping[str, Any]) -> DialogDataBase:
    try:
        return dialog.data_model.model_validate(raw)
    except ValidationError:
        # Data written by an incompatible older version: start this dialog's data over, not crash.
        return dialog.data_model()
