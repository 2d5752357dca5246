"""The commands menu the transports publish (Telegram's "/" menu), in the order shown."""

from __future__ import annotations

from dialogs.i18n import N_

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
