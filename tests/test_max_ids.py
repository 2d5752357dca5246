"""MAX message ids are forgotten once the quick exit cannot use them; cards in MAX chats are kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import Application
from bot.max.ids import KEPT, MessageIds, PruneMessageIds
from storage.models import utcnow
from storage.uow import Database
from storage.vocabulary import Platform


async def test_old_ids_are_forgotten_but_cards_in_max_chats_stay(db: Database) -> None:
    ids = MessageIds(db)
    await ids.remember({11: "mid.a", 12: "mid.card", 13: "mid.c", 14: "mid.d"})
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("max:7001", Platform.MAX, "ru")
        ticket = await uow.tickets.create(
            person_id=person.id, category="legal", description="семья", contact_method="chat", locale="ru"
        )
        await uow.posts.add(ticket.id, "max:-7000000001", 12)  # a card in a MAX chat
        await uow.posts.add(ticket.id, "tg:-100123", 13)  # the same number as a Telegram card: no shelter
    job = PruneMessageIds(db)
    start = utcnow()
    assert await job.run_once(start + KEPT - timedelta(minutes=1)) == 0, "within the window: all kept"
    assert await job.run_once(start + KEPT + timedelta(minutes=1)) == 3
    assert await job.run_once(start + KEPT + timedelta(minutes=2)) == 0
    async with db.uow() as uow:
        assert await uow.max_ids.mids([11, 12, 13, 14]) == {12: "mid.card"}


async def test_a_big_backlog_goes_in_rounds(db: Database) -> None:
    await MessageIds(db).remember({n: f"mid.{n}" for n in range(1, 8)})
    later = utcnow() + timedelta(days=3)
    async with db.uow() as uow:
        assert await uow.max_ids.prune(later, limit=5) == 5
    async with db.uow() as uow:
        assert await uow.max_ids.prune(later, limit=5) == 2
        assert await uow.max_ids.mids(list(range(1, 8))) == {}


async def test_the_application_prunes_when_max_is_on(max_app: Application) -> None:
    assert max_app.background is not None
    assert any(isinstance(job, PruneMessageIds) for job in max_app.background.jobs)


async def test_ids_of_a_file_sent_inside_a_turn_are_saved_after_it(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """An admin's export sends its file inside the turn's unit of work, which already wrote (on
    SQLite it holds the writer): the file's MAX id is saved in a unit of work of its own once the turn
    ends, not in one nested in it (which could not write, and could wait for the pool's connections)."""
    ids = MessageIds(db)
    async with db.uow() as uow:
        assert await uow.updates.first_time(Platform.MAX, 1)  # the turn's first write
        await ids.remember({21: "mid.file"})
    await ids.settle()
    assert await MessageIds(db).mids([21]) == {21: "mid.file"}, "kept in the database"
    assert "could not be saved" not in caplog.text
