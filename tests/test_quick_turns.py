"""Which turns run their statements on the event loop's thread (SQLite: ``Database.uow(quick=True)``,
storage/sqlite_driver.py): a family's, a few statements by key; never an admin's, which may read whole
tables (figures, the audience of an announcement, the directory) and would hold every family up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from dialogs.assembly import assemble
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Role
from handlers.conversation import ConversationService
from handlers.dialog_context import ConversationSettings
from storage.uow import Database, UnitOfWork
from storage.vocabulary import Platform
from tests.fakes import FakeMessenger, Family, conversation


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
    asked: list[bool] = []
    real = db.uow

    @asynccontextmanager
    async def recorded(*, quick: bool = False, first: bool = False) -> AsyncIterator[UnitOfWork]:
        asked.append(quick)
        async with real(quick=quick, first=first) as uow:
            yield uow

    db.uow = recorded  # type: ignore[method-assign]
    try:
        await Family(service, user_id=77, role=role).send(Event(kind=EventKind.COMMAND, command="start"))
    finally:
        db.uow = real  # type: ignore[method-assign]
    assert asked, "the turn had a unit of work"
    assert (True in asked) is quick, f"{role}: units of work asked for {asked}"


@pytest.mark.parametrize(("text", "first"), [("SOS", True), ("мне угрожают", True), ("привет", False)])
async def test_an_emergencys_turn_goes_ahead_of_the_line_for_a_connection(
    db: Database, translators: Translators, directory: Directory, text: str, first: bool
) -> None:
    """An SOS or words of danger take the next free connection before the turns waiting
    (storage/uow.py ``Gate``); any other turn waits in line."""
    service = conversation(db, FakeMessenger(), translators, directory)
    family = Family(service, user_id=78)
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    asked: list[bool] = []
    real = db.uow

    @asynccontextmanager
    async def recorded(*, quick: bool = False, first: bool = False) -> AsyncIterator[UnitOfWork]:
        asked.append(first)
        async with real(quick=quick, first=first) as uow:
            yield uow

    db.uow = recorded  # type: ignore[method-assign]
    try:
        await family.text(text)
    finally:
        db.uow = real  # type: ignore[method-assign]
    assert asked, "the turn had a unit of work"
    assert (True in asked) is first, f"{text!r}: units of work asked first={asked}"
