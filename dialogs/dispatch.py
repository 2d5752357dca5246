"""The assembled dialogs: which one owns a state, and one event handled by the right one (the
dispatch half of the dialog machine in ``dialogs.engine``). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from dialogs.engine import PENDING_KEY, START, STASH_KEY, Context, Dialog, Turn, stale_text
from dialogs.i18n import N_
from dialogs.primitives import (
    GLOBAL_STEP,
    Event,
    EventKind,
    Outcome,
    Payload,
    Role,
    SystemEvent,
)
from dialogs.state import DialogDataBase
from dialogs.validate import clean_text


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
