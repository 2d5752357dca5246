"""Which turns run their statements on the event loop's thread (SQLite: ``Database.uow(quick=True)``,
storage/sqlite_driver.py): a family's, a few statements by key; never an admin's, which may read whole
tables (figures, the audience of an announcement, the directory) and would hold every family up."""

from __future__ import annotations

import pytest

from dialogs.assembly import assemble
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Role
from handlers.conversation import ConversationService
from handlers.dialog_context import ConversationSettings
from storage.uow import Database
from storage.vocabulary import Platform
from tests.fakes import FakeMessenger, Family, conversation, units_of_work


@pytest.mark.parametrize(("role", "quick"), [(Role.FAMILY, True), (Role.ADMIN, False)])
async def test_a_familys_turn_is_quick_and_an_admins_is_not(
    db: Database, translators: Translators, directory: Directory, role: Role, quick: bool
) -> None:
    service = ConversationService(
        db,
        dialogs=assemble(),
        messengers={Platform.TELEGRAM: FakeMessenger()},
        translators=translators,
        directory=directory,
        settings=ConversationSettings(consent_version="v-test", default_locale="ru"),
    )
    with units_of_work(db) as entered:
        await Family(service, user_id=77, role=role).send(Event(kind=EventKind.COMMAND, command="start"))
    asked = [q for q, _first in entered]
    assert asked, "the turn had a unit of work"
    assert (True in asked) is quick, f"{role}: units of work asked for {asked}"


@pytest.mark.parametrize(("text", "first"), [("SOS", True), ("мне угрожают", True), ("привет", False)])
async def test_an_emergencys_turn_goes_ahead_of_the_line_for_a_connection(
    db: Database, translators: Translators, directory: Directory, text: str, first: bool
) -> None:
    """An SOS or words of danger take the next free connection before the turns waiting
    (storage/writer.py ``Gate``; on a SQLite file the line for the families' own connection,
    storage/quick.py); any other turn waits in line."""
    service = conversation(db, FakeMessenger(), translators, directory)
    family = Family(service, user_id=78)
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    with units_of_work(db) as entered:
        await family.text(text)
    asked = [f for _quick, f in entered]
    assert asked, "the turn had a unit of work"
    assert (True in asked) is first, f"{text!r}: units of work asked first={asked}"
