"""``/admins``: an admin adds and removes admins kept in the database. ``ADMIN_IDS`` stays the root
of trust: its admins are shown, never removable here (the use-case checks that again)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from dialogs import texts
from dialogs.admin_effects import ChangeAdmin
from dialogs.engine import Dialog, Handlers, Step, Turn
from dialogs.i18n import N_
from dialogs.primitives import Button, Event, EventKind, Role, Screen
from dialogs.reports import Report, outsider
from dialogs.state import DialogDataBase
from storage.vocabulary import parse_person_key, person_key

ADMIN_HOME = "adm_home"  # dialogs.admin_home's home state (that module opens this one)


class AD(StrEnum):
    """The admins dialog's states: persisted, a schema."""

    LIST = "adm_list"
    ADD = "adm_add"
    REMOVE_SELF = "adm_self"


class AdminsData(DialogDataBase):
    removing: str | None = None  # one's own key, while "remove yourself?" is asked
    # The stored admins as the last change left them (the roster shows them from the next update).
    stored: list[str] | None = None


class AdminsTurn(Turn[AdminsData]):
    def act(self, effect: ChangeAdmin) -> None:
        """The change reports back (``EventKind.REPORT``): the list is shown after it."""
        self.effect(effect)
        self.silent = True


class AdminsReport(Report):
    """What a change did, and the stored admins after it (in the same transaction)."""

    kind: ClassVar[str] = "admins_report"
    stored: tuple[str, ...] = ()


def _value(key: str) -> str:
    return key.replace(":", ".", 1)  # ":" separates a payload's parts


def _key(value: str) -> str:
    return value.replace(".", ":", 1)


def parse_admin(text: str) -> str | None:
    """A typed id as a person key (``tg:123``; a bare number is Telegram); None when it is not one."""
    try:
        platform, number = parse_person_key(text)
    except ValueError:
        return None
    return person_key(platform, number) if number > 0 else None


class AdminList(Step[AdminsTurn]):
    name = AD.LIST

    def render(self, t: AdminsTurn) -> Screen:
        root = [key for key, is_root in t.ctx.admins if is_root]
        stored = t.data.stored if t.data.stored is not None else [k for k, r in t.ctx.admins if not r]
        lines = [t._(N_("👥 <b>Admins</b>")), ""]
        lines += [f"🔒 {texts.esc(key)} — ADMIN_IDS" for key in root]
        lines += [f"• {texts.esc(key)}" for key in stored]
        lines += ["", t._(N_("Admins in ADMIN_IDS are changed only in the settings."))]
        rows: list[tuple[Button, ...]] = [
            (t.button(t._(N_("➖ Remove {key}")).format(key=key), f"rm.{_value(key)}"),) for key in stored
        ]
        rows.append((t.button(t._(N_("➕ Add an admin")), "add"),))
        rows.append((t.button(t._(N_("🛠 Admin menu")), "admin"),))
        return Screen(text="\n".join(lines), buttons=tuple(rows))

    def on_button(self, t: AdminsTurn, value: str) -> None:
        if value.startswith("rm.") and (key := parse_admin(_key(value[3:]))) is not None:
            if key == t.ctx.person.key:
                t.data.removing = key
                t.go(AD.REMOVE_SELF, remember=False)
            else:
                t.act(ChangeAdmin(key=key, add=False))
        elif value == "add":
            t.go(AD.ADD)
        elif value == "admin":
            t.reset_to(ADMIN_HOME)
        else:
            super().on_button(t, value)


class AddAdmin(Step[AdminsTurn]):
    name = AD.ADD

    def render(self, t: AdminsTurn) -> Screen:
        text = t._(
            N_(
                "Send the new admin's id: tg:123, vk:456 or max:789 (a bare number is Telegram). "
                "They see theirs with /my_data, as «Your account id»."
            )
        )
        return Screen(text=text, buttons=((t.button(t._(texts.LABEL_BACK), "back"),),))

    def on_text(self, t: AdminsTurn, text: str) -> None:
        key = parse_admin(text)
        if key is None:
            t.notice(t._(N_("That is not an id like tg:123, vk:456 or max:789.")))
            return
        t.state = AD.LIST
        t.data.history = []
        t.act(ChangeAdmin(key=key, add=True))


class RemoveSelf(Step[AdminsTurn]):
    name = AD.REMOVE_SELF

    def render(self, t: AdminsTurn) -> Screen:
        text = t._(N_("Remove yourself from the admins? You will no longer see the admin menu."))
        rows = (
            (t.button(t._(N_("Yes, remove me")), "yes"),),
            (t.button(t._(N_("No, stay an admin")), "no"),),
        )
        return Screen(text=text, buttons=rows)

    def on_button(self, t: AdminsTurn, value: str) -> None:
        removing, t.data.removing = t.data.removing, None
        if value == "yes" and removing == t.ctx.person.key:
            t.state = AD.LIST
            t.act(ChangeAdmin(key=removing, add=False))
        elif value in {"yes", "no"}:
            t.state = AD.LIST
        else:
            t.data.removing = removing
            super().on_button(t, value)


COMMANDS = Handlers()


@COMMANDS("admins")
def _admins(t: AdminsTurn) -> None:
    t.data.stored = None  # shown as the roster has them now
    t.reset_to(AD.LIST)


class AdminsDialog(Dialog[AdminsTurn]):
    name = "admins"
    data_model = AdminsData
    turn_class = AdminsTurn
    home = AD.LIST
    roles = frozenset({Role.ADMIN})

    def finish(self, t: AdminsTurn) -> None:
        if not outsider(t):
            super().finish(t)

    def on_event(self, t: AdminsTurn, event: Event) -> None:
        if event.kind is not EventKind.REPORT or event.system is None:
            super().on_event(t, event)
            return
        if isinstance(event.system, AdminsReport) and event.what == "admins":
            t.data.stored = list(event.system.stored)
        t.notice(event.system.render(t))
        t.state = AD.LIST


def assemble() -> AdminsDialog:
    return AdminsDialog([AdminList(), AddAdmin(), RemoveSelf()], commands=COMMANDS, entry=COMMANDS.by_name)
