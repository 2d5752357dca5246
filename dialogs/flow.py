"""The family's dialog policy, shared by its step modules: state names, the turn, navigation, safety.

The engine knows no flow; everything that is about a parent asking for help (consent first, the
draft request, emergency numbers on every screen, words of danger) lives here and in the modules
that ``dialogs.family`` assembles.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import ClassVar

from dialogs import texts
from dialogs.danger import find_danger
from dialogs.engine import Step, Turn
from dialogs.i18n import N_
from dialogs.primitives import GLOBAL_STEP, Button, Screen, SystemEvent
from dialogs.start_links import start_category
from dialogs.state import DialogData, Draft
from storage.vocabulary import Category


class S(StrEnum):
    """The family's states. The values are persisted (dialog_states.state, button payloads): a schema."""

    START = "start"
    CONSENT = "consent"
    NO_CONSENT = "no_consent"
    MENU = "menu"
    LANGUAGE = "lang"
    MY_DATA = "my_data"
    DELETE_CONFIRM = "delete_confirm"
    MY_REQUESTS = "mr_list"
    ADD_INFO = "mr_add"
    WITHDRAW = "mr_withdraw"
    DANGER = "t_danger"
    DANGER_YES = "t_danger_yes"
    CATEGORY = "t_category"
    Q_PSY_WHO = "q_psy_who"
    Q_PSY_HOW = "q_psy_how"
    Q_LEGAL_TOPIC = "q_legal_topic"
    Q_HUM_NEEDS = "q_hum_needs"
    Q_HUM_WHEN = "q_hum_when"
    Q_HOUSE_ISSUE = "q_house_issue"
    Q_HOUSE_SAFE = "q_house_safe"
    CHILDREN = "t_children"
    AGES = "t_ages"
    REGION = "t_region"
    DESCRIPTION = "t_desc"
    CONTACT = "t_contact"
    PHONE = "t_phone"
    SUMMARY = "t_summary"
    EDIT = "t_edit"
    CANCEL = "t_cancel"
    FOLLOWUP_OFFER = "f_offer"
    CHECKIN = "f_checkin"
    CHECKIN_COMMENT = "f_comment"
    CHECKIN_RATING = "f_rating"
    APPOINTMENT = "f_appt"
    APPOINTMENT_TIME = "f_appt_time"
    OPT_IN = "opt_in"  # announcements, asked right after consent (their own question)


START, MENU, CONSENT = S.START.value, S.MENU.value, S.CONSENT.value
REPLY_KEYBOARD_STEPS = frozenset({S.PHONE.value})
# Where the family is at rest: a system message shown there interrupts nothing.
AT_REST = frozenset({S.MENU.value, S.MY_REQUESTS.value, S.MY_DATA.value, S.NO_CONSENT.value})


def in_triage(state: str) -> bool:
    return state.startswith(("t_", "q_"))


class FamilyTurn(Turn[DialogData]):
    """A turn of the family's dialog: it also keeps the draft request across menus and edits."""

    def reset_to(self, state: str) -> None:
        if state == MENU and self.data.draft is not None and in_triage(self.state) and self.state != S.CANCEL:
            self.data.draft_step = self.state  # "continue my request" comes back here
        self.data.editing = None
        self.data.rewrite = False
        super().reset_to(state)

    def back(self) -> None:
        if self.data.editing:
            self.data.editing = None
            self.data.rewrite = False
            self.state = S.SUMMARY
            return
        super().back()

    @property
    def draft(self) -> Draft:
        if self.data.draft is None:
            self.data.draft = Draft()
        return self.data.draft


class FamilyStep(Step[FamilyTurn]):
    """One screen of the family's dialog."""

    needs_consent: ClassVar[bool] = True
    section: ClassVar[str | None] = None  # the summary field this step edits

    def on_ticket_created(self, t: FamilyTurn, number: int) -> None:
        """Only the steps that create tickets expect this."""

    def on_arrival(self, t: FamilyTurn, system: SystemEvent) -> None:
        """A system event led here (a check-in): the step keeps what it needs from it."""


def note_danger(t: FamilyTurn, kinds: list[str]) -> None:
    """Danger words: mark the draft urgent and show the emergency numbers (once per request)."""
    if t.state == S.ADD_INFO:
        t.data.info_urgent = True
    if t.state == MENU:
        t.data.relay_urgent = True
    draft = t.data.draft
    if draft is not None and t.state != S.ADD_INFO:  # added info belongs to a sent ticket, not the draft
        draft.urgent = True
        draft.danger = sorted({*draft.danger, *kinds})
        if draft.emergency_shown:
            return
        draft.emergency_shown = True
    t.show(texts.emergency_screen(t))


def check_danger(t: FamilyTurn, text: str) -> None:
    danger = find_danger(text)
    if danger:
        note_danger(t, sorted(danger))


def cancel(t: FamilyTurn) -> None:
    if t.state == S.CANCEL:
        return  # already asking; remembering this screen as the way back would trap the parent
    if t.data.draft is not None and in_triage(t.state):
        t.data.return_to = t.state
        t.go(S.CANCEL, remember=False)
    else:
        t.reset_to(MENU)


def start_over(t: FamilyTurn) -> None:
    t.data.history = []
    t.data.editing = None
    chosen = start_category(t.event)  # a start link's kind of help (a poster's QR code)
    t.data.entry_category = chosen.value if chosen is not None else None
    if t.consented:
        t.reset_to(MENU)
        if t.ctx.org_name:
            t.notice(t._(N_("Hello! I am the bot of «{org}».")).format(org=texts.esc(t.ctx.org_name)))
        else:
            t.notice(t._(N_("Hello! I am the family help bot.")))
        begin_linked_request(t)
    else:
        t.reset_to(CONSENT)


def begin_linked_request(t: FamilyTurn) -> bool:
    """After consent: a family who came by a start link begins a request of that kind, with the
    danger question first (it is never skipped). False when no link chose anything."""
    chosen = t.data.entry_category
    if chosen is None or chosen not in set(Category):
        t.data.entry_category = None
        return False
    t.data.draft = Draft(category=Category(chosen))
    t.data.draft_step = None
    t.reset_to(MENU)
    t.go(S.DANGER)
    return True


def linked_category_taken(t: FamilyTurn) -> bool:
    """Leaving the danger question: True (once) when a start link already chose the kind of help."""
    chosen, t.data.entry_category = t.data.entry_category, None
    draft = t.data.draft
    return (
        chosen is not None and draft is not None and draft.category is not None and draft.category == chosen
    )


def with_emergency(t: FamilyTurn, screen: Screen) -> Screen:
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


def nav_rows(t: FamilyTurn, *, back: bool = True, cancel_: bool = True) -> tuple[tuple[Button, ...], ...]:
    """Back / cancel, and emergency / quick exit: on every screen of a dialog."""
    first = []
    if back:
        first.append(t.button(t._(texts.LABEL_BACK), "back"))
    if cancel_:
        first.append(t.button(t._(texts.LABEL_CANCEL), "cancel"))
    second = (t.global_button(t._(texts.LABEL_SOS), "sos"), t.global_button(t._(texts.LABEL_EXIT), "exit"))
    return (tuple(first), second) if first else (second,)


def go_home(t: FamilyTurn) -> None:
    """After consent or a language change: back to an unfinished request, else the main menu."""
    target = t.data.return_to
    t.data.return_to = None
    if target is not None and t.knows(target) and target not in {CONSENT, S.NO_CONSENT, S.LANGUAGE, S.OPT_IN}:
        t.state = target
    else:
        t.reset_to(MENU)
