"""The admin's home: ``/admin`` in a private chat. Its entries are filled in by later features."""

from __future__ import annotations

from enum import StrEnum

from dialogs import texts
from dialogs.admins import AD
from dialogs.directory_admin import D
from dialogs.engine import Dialog, Handlers, Step, Turn
from dialogs.figures import F
from dialogs.flow import MENU
from dialogs.i18n import N_
from dialogs.links import L
from dialogs.primitives import Role, Screen
from dialogs.state import DialogDataBase


class A(StrEnum):
    """The admin dialog's states: persisted, a schema."""

    HOME = "adm_home"


BROADCASTS = "bc_home"  # dialogs.broadcast.B.HOME (that module imports this one)


class AdminData(DialogDataBase):
    opened: str | None = None  # the last entry the admin looked at


class AdminTurn(Turn[AdminData]):
    pass


ENTRIES = (
    ("broadcasts", N_("📣 Announcements to families")),
    ("directory", N_("📚 Directory of help")),
    ("figures", N_("📊 Figures and exports")),
    ("links", N_("🔗 Start links and QR codes")),
    ("admins", N_("👥 Admins")),
)

OPENS = {
    "directory": D.LIST,
    "figures": F.HOME,
    "links": L.HOME,
    "admins": AD.LIST,
}  # the entries that are built


class Home(Step[AdminTurn]):
    name = A.HOME

    def render(self, t: AdminTurn) -> Screen:
        rows = [(t.button(t._(label), value),) for value, label in ENTRIES]
        rows.append((t.button(t._(texts.LABEL_MENU), "menu"),))
        return Screen(text=t._(N_("🛠 <b>Admin menu</b>\n\nWhat would you like to do?")), buttons=tuple(rows))

    def on_button(self, t: AdminTurn, value: str) -> None:
        if value == "menu":
            t.reset_to(MENU)  # the family's main menu: the admin can use the bot like anyone
        elif value == "broadcasts":
            t.go(BROADCASTS)  # the broadcast wizard: a dialog of its own (dialogs/broadcast.py)
        elif value in OPENS:
            t.data.opened = value
            t.go(OPENS[value])
        elif value in dict(ENTRIES):
            t.data.opened = value
            t.notice(t._(N_("Coming soon: this part of the admin menu is not ready yet.")))
        else:
            super().on_button(t, value)


COMMANDS = Handlers()


@COMMANDS("admin")
def _admin(t: AdminTurn) -> None:
    t.reset_to(A.HOME)


class AdminHome(Dialog[AdminTurn]):
    name = "admin"
    data_model = AdminData
    turn_class = AdminTurn
    home = A.HOME
    roles = frozenset({Role.ADMIN})


def assemble() -> AdminHome:
    return AdminHome([Home()], commands=COMMANDS, entry=COMMANDS.by_name)
