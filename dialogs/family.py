"""The family's dialog, assembled from its modules: triage, details, account, privacy, commands."""

from __future__ import annotations

from dialogs import account, announcements, appointment, checkin, commands, details, privacy, texts, triage
from dialogs.danger import find_danger
from dialogs.engine import Dialog
from dialogs.flow import (
    AT_REST,
    CONSENT,
    MENU,
    REPLY_KEYBOARD_STEPS,
    FamilyStep,
    FamilyTurn,
    S,
    cancel,
    check_danger,
    in_triage,
    note_danger,
    start_over,
    with_emergency,
)
from dialogs.i18n import N_
from dialogs.primitives import Event, EventKind, Payload, Role, Screen, SystemEvent
from dialogs.state import DialogData
from dialogs.validate import clean_text, is_sos


class FamilyDialog(Dialog[FamilyTurn]):
    name = "family"
    data_model = DialogData
    turn_class = FamilyTurn
    home = MENU
    roles = frozenset(Role)  # an admin can ask for help too

    def start(self, t: FamilyTurn, event: Event) -> None:
        """A first contact: whatever was written, greet; but emergencies and commands still work."""
        start_over(t)
        if event.kind is EventKind.COMMAND and event.command.lower() != "start":
            handler = self.commands.get(event.command.lower())
            if handler is None:
                t.notice(t._(N_("I don't know this command. The menu button lists the ones I understand.")))
            else:
                handler(t)
        elif event.kind in (EventKind.TEXT, EventKind.MEDIA) and (
            is_sos(event.text) or find_danger(event.text)
        ):
            t.show(texts.emergency_screen(t))

    def on_text(self, t: FamilyTurn, text: str) -> None:
        if is_sos(text):
            t.show(texts.emergency_screen(t))
            return
        label_action = texts.nav_label_action(t, text)
        if label_action == "back":
            t.back()
            return
        if label_action == "cancel":
            self.cancel(t)
            return
        if len(text) > t.ctx.limits.message:
            super().on_text(t, text)  # the limit, stated
            return
        check_danger(t, text)
        self.steps[t.state].on_text(t, text)

    def on_media(self, t: FamilyTurn, event: Event) -> None:
        caption = clean_text(event.text)
        if caption and (is_sos(caption) or find_danger(caption)):
            note_danger(t, sorted(find_danger(caption)))
        super().on_media(t, event)

    def on_event(self, t: FamilyTurn, event: Event) -> None:
        step = self.steps[t.state]
        if event.kind in TICKET_EVENTS and isinstance(step, FamilyStep):
            step.on_ticket_created(t, event.number)
        else:
            step.on_other(t, event.what)

    def on_system(self, t: FamilyTurn, system: SystemEvent) -> None:
        super().on_system(t, system)
        step = self.steps.get(t.state)
        if t.state == system.step and isinstance(step, FamilyStep):
            step.on_arrival(t, system)

    def cancel(self, t: FamilyTurn) -> None:
        cancel(t)

    def on_stale(self, t: FamilyTurn, payload: Payload) -> bool:
        if t.state == S.OPT_IN and payload.step == MENU:
            # The announcements question is optional: a menu button pressed instead skips it (they
            # stay off) and works at once, rather than being called out of date.
            t.reset_to(MENU)
            self.steps[MENU].on_button(t, payload.value)
            return True
        if payload.step == S.SUMMARY and payload.value == "send" and t.data.sent is not None:
            details.sent_again(t, t.data.sent)
            return True
        return False

    def is_busy(self, state: str) -> bool:
        return state not in AT_REST

    def finish(self, t: FamilyTurn) -> None:
        left_triage = in_triage(t.started_at) and not in_triage(t.state) and t.started_at != S.CANCEL
        if left_triage and t.data.draft is not None:
            t.data.draft_step = t.started_at  # "continue my request" comes back here
        step = self.steps.get(t.state)
        if isinstance(step, FamilyStep) and step.needs_consent and not t.consented:
            t.reset_to(CONSENT)
        super().finish(t)
        left_reply_keyboard = t.started_at in REPLY_KEYBOARD_STEPS and t.state not in REPLY_KEYBOARD_STEPS
        if left_reply_keyboard and not any(s.remove_reply_keyboard for s in t.screens):
            # Telegram cannot drop a reply keyboard and show inline buttons in one message.
            t.screens.insert(0, Screen(text=t._(N_("OK.")), remove_reply_keyboard=True))
        t.started_at = t.state  # finishing twice (a system message after the step) inserts nothing twice

    def decorate(self, t: FamilyTurn, screen: Screen) -> Screen:
        return with_emergency(t, screen)


TICKET_EVENTS = frozenset(
    {EventKind.TICKET_CREATED, EventKind.TICKET_MERGED, EventKind.TICKET_HELD, EventKind.TICKET_REFUSED}
)


def assemble() -> FamilyDialog:
    steps: list[FamilyStep] = [
        *triage.STEPS,
        *details.STEPS,
        *account.STEPS,
        *announcements.STEPS,
        *privacy.STEPS,
        *checkin.STEPS,
        *appointment.STEPS,
    ]
    unnamed = {step.name for step in steps} - {state.value for state in S}
    if unnamed:  # a state name is persisted: it must be spelled in the schema first
        raise ValueError(f"family steps missing from the state enum: {sorted(unnamed)}")
    # Every family command also leads back here from another dialog (an admin's menu, ...).
    return FamilyDialog(
        steps, commands=commands.COMMANDS, actions=commands.ACTIONS, entry=commands.COMMANDS.by_name
    )
