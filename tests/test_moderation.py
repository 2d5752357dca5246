"""The coordinators' bookkeeping in storage, on SQLite and PostgreSQL: blocks, away, a chat's inbox."""

from __future__ import annotations

from datetime import timedelta

from handlers.away import who_hears
from storage.models import utcnow
from storage.uow import Database
from storage.vocabulary import Platform


async def test_blocking_and_away_are_decided_once(db: Database) -> None:
    now = utcnow()
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("tg:1", Platform.TELEGRAM, "ru")
        assert await uow.moderation.block(person.id, "tg:900", now)
        assert not await uow.moderation.block(person.id, "tg:901", now), "blocked once, by the first"
        assert await uow.moderation.away("tg:900", now)
    async with db.uow() as uow:
        row = await uow.moderation.blocked(person.id)
        assert row is not None and row.blocked_by == "tg:900"
        assert await uow.moderation.unblock(person.id)
        assert not await uow.moderation.unblock(person.id)
        assert await uow.moderation.blocked(person.id) is None
        assert not await uow.moderation.away("tg:900", now), "already away"
        assert await uow.moderation.away_among({"tg:900", "tg:901"}) == {"tg:900"}
        assert await uow.moderation.back("tg:900")
        assert not await uow.moderation.back("tg:900")
        assert await uow.moderation.away_among({"tg:900"}) == set()
        assert await uow.moderation.away_among(()) == set()


async def test_a_chats_inbox_lists_urgent_first_then_the_oldest(db: Database) -> None:
    now = utcnow()
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("tg:2", Platform.TELEGRAM, "ru")
        made = {}
        for name, hours, urgent, chat, status in [
            ("old", 5, False, "tg:-1", "new"),
            ("young", 1, False, "tg:-1", "claimed"),
            ("urgent_young", 1, True, "tg:-1", "new"),
            ("urgent_old", 3, True, "tg:-1", "claimed"),
            ("closed", 9, False, "tg:-1", "closed"),
            ("elsewhere", 9, False, "tg:-2", "new"),
            ("held", 9, False, None, "held"),
        ]:
            ticket = await uow.tickets.create(
                person_id=person.id,
                category="legal",
                contact_method="chat",
                locale="ru",
                urgent=urgent,
                chat=chat,
                status=status,
                assignee="tg:7" if status == "claimed" else None,
                created_at=now - timedelta(hours=hours),
            )
            made[name] = ticket.id
        assert await uow.moderation.open_count(person.id) == 5
    async with db.uow() as uow:
        listed = [t.id for t in await uow.moderation.open_in_chat("tg:-1")]
        mine = [t.id for t in await uow.moderation.open_in_chat("tg:-1", "tg:7")]
    assert listed == [made[n] for n in ("urgent_old", "urgent_young", "old", "young")]
    assert mine == [made["urgent_old"], made["young"]]


async def test_who_hears_a_nudge_follows_away_ness(db: Database) -> None:
    now = utcnow()
    admins = ("tg:900", "vk:901")
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("tg:3", Platform.TELEGRAM, "ru")
        ticket = await uow.tickets.create(
            person_id=person.id,
            category="legal",
            contact_method="chat",
            locale="ru",
            chat="tg:-1",
            status="claimed",
            assignee="tg:7",
            assignee_name="Ольга",
        )
        present = await who_hears(uow, ticket, admins)
        assert (present.chat, present.addressed, present.away, present.admins) == ("tg:-1", "tg:7", None, ())
        escalated = await who_hears(uow, ticket, admins, admins_always=True)
        assert escalated.addressed == "tg:7" and escalated.admins == admins
        await uow.moderation.away("tg:7", now)
        away = await who_hears(uow, ticket, admins)
        assert (away.chat, away.addressed, away.away, away.admins) == ("tg:-1", None, "Ольга", admins)
        ticket.chat = None
        lost = await who_hears(uow, ticket, admins)
        assert lost.chat is None and lost.admins == admins
