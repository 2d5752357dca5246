"""Commands and buttons that work at every step, and the menu the transports publish ("/" in Telegram)."""

from __future__ import annotations

from dialogs import texts
from dialogs.effects import EraseChat
from dialogs.engine import Handlers
from dialogs.flow import CONSENT, MENU, S, start_over
from dialogs.flow import FamilyTurn as Turn
from dialogs.i18n import N_
from dialogs.state import Draft

COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("start", N_("Main menu")),
    ("sos", N_("Emergency numbers")),
    ("requests", N_("My requests")),
    ("contacts", N_("Useful contacts")),
    ("erase", N_("Quick exit: delete our messages of the last 48 hours")),
    ("language", N_("Change the language")),
    ("my_data", N_("What we keep about me")),
    ("delete_my_data", N_("Delete my data")),
    ("help", N_("Help")),
)

COMMANDS = Handlers()  # "/name" at every step of the family's dialog
ACTIONS = Handlers()  # the global buttons (emergency, quick exit, ...) on every screen
command, global_action = COMMANDS, ACTIONS


@command("start")
def _cmd_start(t: Turn) -> None:
    start_over(t)


@command("menu", "cancel")
def _cmd_menu(t: Turn) -> None:
    t.reset_to(MENU)


@command("help")
def _cmd_help(t: Turn) -> None:
    t.notice(texts.help_text(t))


@command("sos")
@global_action("sos")
def _sos(t: Turn) -> None:
    t.show(texts.emergency_screen(t))


@command("erase", "exit")
@global_action("exit")
def _quick_exit(t: Turn) -> None:
    t.effect(EraseChat())
    t.reset_to(MENU)
    t.silent = True
    t.toast = t._(N_("Done."))


@global_action("menu")
def _to_menu(t: Turn) -> None:
    _cmd_menu(t)


@command("contacts")
@global_action("contacts")
def _contacts(t: Turn) -> None:
    t.show(texts.contacts_screen(t))


@command("language")
@global_action("lang")
def _language(t: Turn) -> None:
    t.data.return_to = t.state
    t.go(S.LANGUAGE, remember=False)


@command("my_data")
def _my_data(t: Turn) -> None:
    t.go(S.MY_DATA)


@command("delete_my_data")
def _delete_my_data(t: Turn) -> None:
    t.data.return_to = t.state
    t.go(S.DELETE_CONFIRM, remember=False)


@command("requests")
def _requests(t: Turn) -> None:
    t.go(S.MY_REQUESTS)


@command("new", "help_request")
def _new_request(t: Turn) -> None:
    t.data.draft = Draft()
    t.data.draft_step = None
    t.reset_to(MENU)
    t.go(S.DANGER)


@global_action("callback")
def _urgent_callback(t: Turn) -> None:
    """From the emergency screen: ask for an urgent call back (needs consent: it collects a phone)."""
    if not t.consented:
        t.notice(t._(N_("To call you back we need your consent to keep your phone number.")))
        t.reset_to(CONSENT)
        return
    # Whatever the parent already told us goes with the call-back request.
    draft = t.draft
    draft.danger_now = True
    draft.urgent = True
    draft.callback = True
    draft.emergency_shown = True
    t.go(S.PHONE)
