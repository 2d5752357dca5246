"""Announcements on the family's side: the opt-in after consent, the announcement itself with its
unsubscribe button, and the optional one-tap "why". Every button here is a global action of the
family's dialog, so it works from any step, also on an announcement of weeks ago."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from dialogs.commands import ACTIONS
from dialogs.effects import SetAnnouncements
from dialogs.flow import FamilyStep, S, begin_linked_request, go_home
from dialogs.flow import FamilyTurn as Turn
from dialogs.i18n import N_, Translator
from dialogs.primitives import GLOBAL_STEP, Button, Payload, Screen, Speaks, SystemEvent
from dialogs.state import Attachment

HEADER = N_("📣 <b>Announcement</b>")
# Payload values: persisted in chats (old announcements keep their buttons), a schema.
OPT_IN, OPT_OUT, UNSUBSCRIBE = "ann_yes", "ann_no", "unsub"
REASONS = (
    ("unsub_many", N_("Too many messages")),
    ("unsub_irrelevant", N_("Not relevant to me")),
    ("unsub_other", N_("Another reason")),
)


def _button(label: str, value: str) -> Button:
    return Button(label=label, payload=Payload(step=GLOBAL_STEP, value=value))


def opt_in_screen(t: Speaks) -> Screen:
    """Asked right after consent, as its own step: separate from the data consent. Its buttons are
    global actions, so the same question sent as a message by an earlier version still works."""
    text = t._(
        N_(
            "Thank you. Your consent is saved.\n\nOne more question, separate from that consent: may we "
            "send you announcements about help for families (food kits, free lawyers' hours, shelters)? "
            "Not often; you can stop them at any time."
        )
    )
    rows = ((_button(t._(N_("🔔 Yes, send them")), OPT_IN), _button(t._(N_("No, thanks")), OPT_OUT)),)
    return Screen(text=text, buttons=rows)


class Announcement(SystemEvent):
    """An admin's announcement: ``texts`` by language (the admin's own, already safe HTML; "*": the
    one version written), the same photo or document as each messenger keeps it, and whether it goes
    as Telegram's paid broadcast. Saved with a waiting family's state: new fields need defaults."""

    kind: ClassVar[str] = "announcement"
    intent: ClassVar[str | None] = "non_promo_newsletter"
    broadcast: int
    texts: dict[str, str]
    files: tuple[Attachment, ...] = ()
    paid: bool = False

    def render(self, t: Speaks) -> str:
        # The family's own language where the admin wrote it; otherwise as written (the first version).
        text = self.texts.get(t.locale) or next(iter(self.texts.values()), "")
        return f"{t._(HEADER)}\n\n{text}"

    def screen(self, t: Speaks) -> Screen:
        button = _button(t._(N_("🔕 Unsubscribe from announcements")), UNSUBSCRIBE)
        return Screen(text=self.render(t), buttons=((button,),), files=self.files, paid=self.paid)


@dataclass
class SpeaksAs:
    """Another language's voice, for showing an admin the version families of that language get."""

    locale: str
    tr: Translator

    def _(self, message: str) -> str:
        return self.tr.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.tr.ngettext(singular, plural, n)


class OptIn(FamilyStep):
    """The announcements question, its own step right after the consent step."""

    name = S.OPT_IN

    def render(self, t: Turn) -> Screen:
        return opt_in_screen(t)

    def on_text(self, t: Turn, text: str) -> None:
        t.notice(t._(N_("Please answer with a button: «Yes, send them» or «No, thanks».")))


@ACTIONS(OPT_IN, OPT_OUT)
def _answer_opt_in(t: Turn) -> None:
    if not t.consented:
        t.toast = t._(N_("This button is out of date."))
        return
    enabled = t.event.payload is not None and t.event.payload.value == OPT_IN
    t.effect(SetAnnouncements(enabled=enabled))
    t.announcements = enabled
    done = (
        t._(N_("Done: you will receive announcements."))
        if enabled
        else t._(N_("Done: no announcements. You can change this in /my_data."))
    )
    if t.state == S.OPT_IN:  # the step: answered, on to the menu (or the request left for consent)
        t.notice(done)
        if not begin_linked_request(t):  # a start link chose a kind of help: that request begins
            go_home(t)
        return
    t.toast = done  # the question as a message of an earlier version: the screen stays as it is
    t.silent = True


@ACTIONS(UNSUBSCRIBE)
def _unsubscribe(t: Turn) -> None:
    t.effect(SetAnnouncements(enabled=False))
    t.announcements = False
    text = t._(
        N_(
            "You will not receive announcements any more (/my_data turns them back on).\n\n"
            "If you like, tell us why with one tap:"
        )
    )
    rows = tuple((_button(t._(label), value),) for value, label in REASONS)
    t.show(Screen(text=text, buttons=rows))
    t.silent = True


@ACTIONS(*(value for value, _label in REASONS))
def _why(t: Turn) -> None:
    value = t.event.payload.value if t.event.payload is not None else ""
    t.effect(SetAnnouncements(enabled=False, reason=value.removeprefix("unsub_")))
    t.announcements = False
    t.toast = t._(N_("Thank you for telling us."))
    t.silent = True


_TAG = re.compile(r"&lt;(/?)(b|i|u|s)&gt;")


def admin_html(text: str) -> str:
    """The admin's text, escaped, with <b>, <i>, <u>, <s> kept when they pair up (else all escaped):
    formatting allowed, and nothing the platforms would refuse."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    stack: list[str] = []
    for closing, tag in _TAG.findall(escaped):
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            return escaped
    if stack:
        return escaped
    return _TAG.sub(lambda m: f"<{m.group(1)}{m.group(2)}>", escaped)


STEPS: tuple[FamilyStep, ...] = (OptIn(),)
