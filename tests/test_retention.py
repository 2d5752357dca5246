"""RETENTION: closed tickets' personal texts, files, phones and relay copies are erased after the
period; open tickets, recently closed ones and the anonymous figures are untouched. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import ConfigError, load_settings
from handlers.retention import Retention
from storage.models import Appointment, FollowUp, Outbox, RelayedMessage, Ticket, TicketEntry
from storage.uow import Database
from storage.vocabulary import Platform

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KEEP = timedelta(days=180)
STORY = "муж угрожает, живём у соседки"
FILES = [{"kind": "photo", "ref": "tg:FILE-1"}]


async def _ticket(db: Database, n: int, *, status: str, closed_days_ago: int | None) -> int:
    created = NOW - timedelta(days=(closed_days_ago or 0) + 5)
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create(f"tg:{900 + n}", Platform.TELEGRAM, "ru")
        ticket = await uow.tickets.create(
            person_id=person.id,
            category="legal",
            region_code="msk",
            region="Москва",
            description=f"{STORY} {n}",
            attachments=FILES,
            contact_method="phone",
            phone=f"+7900000000{n}",
            locale="ru",
            urgent=n % 2 == 0,
            created_at=created,
        )
        ticket.status = status
        ticket.claimed_at = created + timedelta(minutes=30)
        if closed_days_ago is not None:
            ticket.closed_at = NOW - timedelta(days=closed_days_ago)
            ticket.outcome, ticket.outcome_note = "referred", "Центр «Семья», ул. Мира 1"
        s = uow.session
        s.add(TicketEntry(ticket_id=ticket.id, author="family", text=f"ещё {STORY}", attachments=FILES))
        s.add(
            RelayedMessage(
                ticket_id=ticket.id,
                direction="in",
                group_chat="tg:-100",
                group_message_id=10 + n,
                family_chat=person.key,
                family_message_id=20 + n,
            )
        )
        s.add(Outbox(kind="ticket_created", ticket_id=ticket.id, payload={"x": n}, done_at=created))
        s.add(
            FollowUp(
                ticket_id=ticket.id,
                kind="checkin",
                due_at=created,
                status="answered",
                answer="partly",
                comment=f"{STORY} всё ещё",
                rating=3,
            )
        )
        s.add(
            Appointment(
                ticket_id=ticket.id,
                at=created,
                place="ул. Ленина 5, паспорт",
                status="other_time",
                proposal="лучше вечером",
                created_by="tg:1",
            )
        )
        return ticket.id


async def _state(db: Database, ticket_id: int) -> dict[str, Any]:
    async with db.uow() as uow:
        s = uow.session
        t = await s.get(Ticket, ticket_id, populate_existing=True)
        assert t is not None

        async def count(model: Any) -> int:
            return int(await s.scalar(select(func.count()).where(model.ticket_id == ticket_id)) or 0)

        followup = await s.scalar(select(FollowUp).where(FollowUp.ticket_id == ticket_id))
        appointment = await s.scalar(select(Appointment).where(Appointment.ticket_id == ticket_id))
        assert followup is not None and appointment is not None
        return {
            "personal": (t.description, t.attachments, t.phone, t.outcome_note),
            "entries": await count(TicketEntry),
            "relay": await count(RelayedMessage),
            "outbox": await count(Outbox),
            "comment": followup.comment,
            "appointment": (appointment.place, appointment.proposal),
            "figures": (t.category, t.region_code, t.urgent, t.status, t.created_at, t.claimed_at),
            "closed": (t.closed_at, t.outcome, followup.answer, followup.rating, appointment.status),
            "erased_at": t.erased_at,
        }


async def test_retention_erases_what_it_should_and_nothing_else(db: Database) -> None:
    open_old = await _ticket(db, 1, status="claimed", closed_days_ago=None)
    closed_old = await _ticket(db, 2, status="closed", closed_days_ago=181)
    withdrawn_old = await _ticket(db, 3, status="withdrawn", closed_days_ago=400)
    closed_recent = await _ticket(db, 4, status="closed", closed_days_ago=179)
    reopened = await _ticket(db, 5, status="claimed", closed_days_ago=200)  # closed once, reopened
    ids = [open_old, closed_old, withdrawn_old, closed_recent, reopened]
    before = {i: await _state(db, i) for i in ids}
    async with db.uow() as uow:
        figures_before = await uow.figures.tickets(NOW - timedelta(days=1000), NOW)

    job = Retention(db, keep=KEEP)
    assert await job.run_once(NOW) == 2
    assert await job.run_once(NOW) == 0  # done once; the runner stops its rounds here

    for erased in (closed_old, withdrawn_old):
        after = await _state(db, erased)
        assert after["personal"] == ("", [], None, None)
        assert (after["entries"], after["relay"], after["outbox"]) == (0, 0, 0)
        assert after["comment"] is None and after["appointment"] == ("", None)
        assert after["figures"] == before[erased]["figures"]
        assert after["closed"] == before[erased]["closed"]
        assert after["erased_at"] == NOW
    for kept in (open_old, closed_recent, reopened):
        assert await _state(db, kept) == before[kept]
    async with db.uow() as uow:
        assert await uow.figures.tickets(NOW - timedelta(days=1000), NOW) == figures_before
        stories = await uow.session.scalars(select(Ticket.description).where(Ticket.description != ""))
        assert sorted(stories) == sorted(f"{STORY} {n}" for n in (1, 4, 5))


async def test_a_large_backlog_is_erased_in_batches(db: Database) -> None:
    for n in range(3):
        await _ticket(db, 10 + n, status="closed", closed_days_ago=365)
    async with db.uow() as uow:
        assert await uow.retention.erase_closed(NOW - KEEP, NOW, limit=2) == 2
        assert await uow.retention.erase_closed(NOW - KEEP, NOW, limit=2) == 1
        assert await uow.retention.erase_closed(NOW - KEEP, NOW, limit=2) == 0


def test_a_malformed_retention_stops_the_start_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"^RETENTION: 'forever' is not a duration"):
        load_settings(bot_token="1:abc", retention="forever")
    assert load_settings(bot_token="1:abc").retention == "180d"
