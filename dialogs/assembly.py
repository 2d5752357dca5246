"""Every dialog of the bot, spelled once. Adding a flow is one module and one line here."""

from __future__ import annotations

from dialogs import admin_home, admins, broadcast, directory_admin, family, figures, links
from dialogs.dispatch import Dialogs


def assemble() -> Dialogs:
    return Dialogs(
        [
            family.assemble(),
            admin_home.assemble(),
            directory_admin.assemble(),
            figures.assemble(),
            broadcast.assemble(),
            links.assemble(),
            admins.assemble(),
        ],
        default=family.FamilyDialog.name,
    )
