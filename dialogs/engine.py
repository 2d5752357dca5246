"""The pure dialog engine: (state, data, event, context) -> (new state, screens, effects). No I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from dialogs import texts
from dialogs.danger import find_danger
from dialogs.directory import Directory
from dialogs.i18n import N_, Translator, Translators
from dialogs.primitives import (
    GLOBAL_STEP,
    Button,
    Effect,
    Event,
    EventKind,
    Outcome,
    Payload,
    Screen,
    SetLocale,
    Traits,
)
from dialogs.state import Attachment, DialogData, Draft, PersonView, TicketView
from dialogs.validate import clean_text, is_sos

START = "start"
MENU = "menu"
CONSENT = "consent"
HISTORY_LIMIT = 30
REPLY_KEYBOARD_STEPS = frozenset({"t_phone"})


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
    limits: Limits = field(default_factory=Limits)
    traits: Traits = field(default_factory=Traits)


class Turn:
    """One event being handled: a working copy of the state and what to show and do."""

    def __init__(self, state: str, data: DialogData, ctx: Context, event: Event) -> None:
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
    def go(self, state: str, *, remember: bool = True) -> None:
        if state == self.state:
            return
        if remember and self.state in STEPS:
            self.data.history = [*self.data.history, self.state][-HISTORY_LIMIT:]
        self.state = state

    def reset_to(self, state: str) -> None:
        if (
            state == MENU
            and self.data.draft is not None
            and in_triage(self.state)
            and self.state != "t_cancel"
        ):
            self.data.draft_step = self.state  # "continue my request" comes back here
        self.data.history = []
        self.data.editing = None
        self.data.rewrite = False
        self.state = state

    def back(self) -> None:
        if self.data.editing:
            self.data.editing = None
            self.data.rewrite = False
            self.state = "t_summary"
            return
        history = list(self.data.history)
        while history:
            previous = history.pop()
            if previous in STEPS:
                self.data.history = history
                self.state = previous
                return
        self.reset_to(MENU)

    # ---- output ----
    def notice(self, text: str) -> None:
        self.notices.append(text)

    def show(self, screen: Screen) -> None:
        self.screens.append(screen)

    def effect(self, effect: Effect) -> None:
        self.effects.append(effect)

    @property
    def draft(self) -> Draft:
        if self.data.draft is None:
            self.data.draft = Draft()
        return self.data.draft

    def button(self, label: str, value: str, step: str | None = None) -> Button:
        return Button(label=label, payload=Payload(step=step or self.state, value=value))

    def global_button(self, label: str, value: str) -> Button:
        return Button(label=label, payload=Payload(step=GLOBAL_STEP, value=value))


def in_triage(state: str) -> bool:
    return state.startswith(("t_", "q_"))


class Step:
    """One screen of a dialog. Subclasses register themselves by ``name``."""

    name: ClassVar[str]
    needs_consent: ClassVar[bool] = True
    section: ClassVar[str | None] = None  # the summary field this step edits

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            STEPS[cls.name] = cls()

    def render(self, t: Turn) -> Screen:
        raise NotImplementedError

    def on_button(self, t: Turn, value: str) -> None:
        t.notice(t._(N_("That button doesn't work here any more.")))

    def on_text(self, t: Turn, text: str) -> None:
        t.notice(t._(N_("Please choose one of the buttons below.")))

    def on_media(self, t: Turn, attachment: Attachment) -> None:
        t.notice(t._(N_("I can't take a file at this step. Please answer the question below.")))

    def on_contact(self, t: Turn, phone: str) -> None:
        t.notice(t._(N_("I don't need a phone number at this step. Please answer the question below.")))

    def on_ticket_created(self, t: Turn, number: int) -> None:
        """Only the steps that create tickets expect this."""

    def on_other(self, t: Turn, what: str) -> None:
        """A sticker, a location, ...: something no step asks for."""
        t.notice(texts.unsupported(t, what))


STEPS: dict[str, Step] = {}
CommandHandler = Callable[[Turn], None]
COMMANDS: dict[str, CommandHandler] = {}
GLOBAL_ACTIONS: dict[str, CommandHandler] = {}


def command(*names: str) -> Callable[[CommandHandler], CommandHandler]:
    def register(handler: CommandHandler) -> CommandHandler:
        for name in names:
            COMMANDS[name] = handler
        return handler

    return register


def global_action(*values: str) -> Callable[[CommandHandler], CommandHandler]:
    def register(handler: CommandHandler) -> CommandHandler:
        for value in values:
            GLOBAL_ACTIONS[value] = handler
        return handler

    return register


# ---------------------------------------------------------------------------------------------------


def step(state: str | None, data: DialogData, event: Event, ctx: Context) -> Outcome:
    """Handle one event. Pure: the given data is not modified; the outcome carries a new copy."""
    # Importing here registers every step; the modules import this one, so it cannot be at the top.
    from dialogs import account, commands, details, privacy, triage  # noqa: F401, PLC0415

    current = state if state in STEPS else START
    t = Turn(current, data.model_copy(deep=True), ctx, event)
    if current != START:
        _dispatch(t, event)
        return _finish(t)
    # A first contact: whatever was written, greet; but emergencies and commands still work.
    start_over(t)
    if event.kind is EventKind.COMMAND and event.command.lower() != "start":
        _dispatch(t, event)
    elif event.kind in (EventKind.TEXT, EventKind.MEDIA) and (is_sos(event.text) or find_danger(event.text)):
        t.show(texts.emergency_screen(t))
    return _finish(t)


def _dispatch(t: Turn, event: Event) -> None:
    match event.kind:
        case EventKind.COMMAND:
            handler = COMMANDS.get(event.command.lower())
            if handler is None:
                t.notice(t._(N_("I don't know this command. The menu button lists the ones I understand.")))
            else:
                handler(t)
        case EventKind.BUTTON:
            _on_button(t, event.payload)
        case EventKind.TEXT:
            _on_text(t, clean_text(event.text))
        case EventKind.MEDIA if event.attachment is not None:
            caption = clean_text(event.text)
            if caption and (is_sos(caption) or find_danger(caption)):
                note_danger(t, sorted(find_danger(caption)))
            _current(t).on_media(t, event.attachment)
        case EventKind.CONTACT if event.phone:
            _current(t).on_contact(t, event.phone)
        case EventKind.TICKET_CREATED | EventKind.TICKET_MERGED:
            _current(t).on_ticket_created(t, event.number)
        case _:
            _current(t).on_other(t, event.what)


def _current(t: Turn) -> Step:
    return STEPS[t.state]


def _on_button(t: Turn, payload: Payload | None) -> None:
    if payload is None:
        t.toast = t._(N_("This button is out of date."))
        t.notice(texts.stale(t))
        return
    if payload.step == GLOBAL_STEP:
        action = GLOBAL_ACTIONS.get(payload.value)
        if action is None:
            t.toast = t._(N_("This button is out of date."))
            t.notice(texts.stale(t))
        else:
            action(t)
        return
    if payload.step != t.state:
        t.toast = t._(N_("This button is from an earlier question."))
        t.notice(texts.stale(t))
        return
    if payload.value == "back":
        t.back()
    elif payload.value == "cancel":
        cancel(t)
    else:
        _current(t).on_button(t, payload.value)


def _on_text(t: Turn, text: str) -> None:
    if not text:
        t.notice(t._(N_("Your message was empty. Please write in words or use the buttons.")))
        return
    if is_sos(text):
        t.show(texts.emergency_screen(t))
        return
    label_action = texts.nav_label_action(t, text)
    if label_action == "back":
        t.back()
        return
    if label_action == "cancel":
        cancel(t)
        return
    if len(text) > t.ctx.limits.message:
        t.notice(texts.too_long(t, len(text), t.ctx.limits.message))
        return
    danger = find_danger(text)
    if danger:
        note_danger(t, sorted(danger))
    _current(t).on_text(t, text)


def note_danger(t: Turn, kinds: list[str]) -> None:
    """Danger words: mark the draft urgent and show the emergency numbers (once per request)."""
    if t.state == "mr_add":
        t.data.info_urgent = True
    if t.state == MENU:
        t.data.relay_urgent = True
    draft = t.data.draft
    if draft is not None and t.state != "mr_add":  # added info belongs to a sent ticket, not the draft
        draft.urgent = True
        draft.danger = sorted({*draft.danger, *kinds})
        if draft.emergency_shown:
            return
        draft.emergency_shown = True
    t.show(texts.emergency_screen(t))


def cancel(t: Turn) -> None:
    if t.state == "t_cancel":
        return  # already asking; remembering this screen as the way back would trap the parent
    if t.data.draft is not None and in_triage(t.state):
        t.data.return_to = t.state
        t.go("t_cancel", remember=False)
    else:
        t.reset_to(MENU)


def start_over(t: Turn) -> None:
    t.data.history = []
    t.data.editing = None
    if t.consented:
        t.reset_to(MENU)
        t.notice(t._(N_("Hello! I am the family help bot.")))
    else:
        t.reset_to(CONSENT)


def _finish(t: Turn) -> Outcome:
    left_triage = in_triage(t.started_at) and not in_triage(t.state) and t.started_at != "t_cancel"
    if left_triage and t.data.draft is not None:
        t.data.draft_step = t.started_at  # "continue my request" comes back here
    if t.state in STEPS and STEPS[t.state].needs_consent and not t.consented:
        t.reset_to(CONSENT)
    if not t.silent:
        screen = _with_emergency(t, STEPS[t.state].render(t))
        if t.notices:
            screen = replace(screen, text="\n\n".join([*t.notices, screen.text]))
        elif t.edit and not t.screens:
            screen = replace(screen, edit=True)
        t.screens.append(screen)
    left_reply_keyboard = t.started_at in REPLY_KEYBOARD_STEPS and t.state not in REPLY_KEYBOARD_STEPS
    if left_reply_keyboard and not any(s.remove_reply_keyboard for s in t.screens):
        # Telegram cannot drop a reply keyboard and show inline buttons in one message.
        t.screens.insert(0, Screen(text=t._(N_("OK.")), remove_reply_keyboard=True))
    return Outcome(state=t.state, data=t.data, screens=t.screens, effects=t.effects, toast=t.toast)


def _with_emergency(t: Turn, screen: Screen) -> Screen:
    """Every step's screen carries the emergency and quick-exit buttons (the reply keyboard has SOS)."""
    if screen.request_contact or screen.reply_buttons:
        return screen
    present = {
        b.payload.value for row in screen.buttons for b in row if b.payload and b.payload.step == GLOBAL_STEP
    }
    missing = [
        t.global_button(t._(label), value)
        for label, value in ((texts.LABEL_SOS, "sos"), (texts.LABEL_EXIT, "exit"))
        if value not in present
    ]
    return replace(screen, buttons=(*screen.buttons, tuple(missing))) if missing else screen


def nav_rows(t: Turn, *, back: bool = True, cancel_: bool = True) -> tuple[tuple[Button, ...], ...]:
    """Back / cancel, and emergency / quick exit: on every screen of a dialog."""
    first = []
    if back:
        first.append(t.button(t._(texts.LABEL_BACK), "back"))
    if cancel_:
        first.append(t.button(t._(texts.LABEL_CANCEL), "cancel"))
    second = (t.global_button(t._(texts.LABEL_SOS), "sos"), t.global_button(t._(texts.LABEL_EXIT), "exit"))
    return (tuple(first), second) if first else (second,)
