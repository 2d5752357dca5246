"""The day-long "waiting for an answer" nudge: a follow-up row, claimed once, called off, not for the departed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import EventKind
from storage.db import create_engine
from storage.models import AuditEntry, FollowUp
from storage.uow import Database
from storage.vocabulary import FollowUpKind, FollowUpStatus, TicketStatus
from tests.fakes import Family
from tests.followup_support import DeskRig, Rig

Status = FollowUpStatus
DAY = timedelta(days=1)


async def claimed(rig: Rig) -> int:
    ticket = await rig.ticket()
    await rig.coordinator("claim", ticket)
    return ticket


async def nudges(rig: Rig, ticket: int) -> list[FollowUp]:
    return [r for r in await rig.rows(ticket) if r.kind == FollowUpKind.NUDGE]


def nudged(rig: Rig) -> list[str]:
    return [s.text for s in rig.to_group() if "waiting" in s.text and "answer" in s.text]


async def test_a_family_message_schedules_one_nudge_a_day_later_sent_once(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await claimed(rig)
    written = rig.clock.now
    await rig.family.text("Вы здесь?")
    rig.clock.move(timedelta(hours=3))
    await rig.family.text("Ответьте, пожалуйста")
    [row] = await nudges(rig, ticket)  # the wait counts from the first unanswered message
    assert (row.status, row.due_at) == (Status.PENDING, written + DAY)
    rig.clock.move(timedelta(hours=20))  # 23 hours after the first message
    await rig.tick()
    assert nudged(rig) == []
    rig.clock.move(timedelta(hours=2))
    await rig.tick()
    await rig.tick()
    [text] = nudged(rig)
    assert text.startswith("🔔 Olga, the family of request") and f"#{ticket}" in text
    assert "1 day" not in text and "minutes" in text
    assert (await nudges(rig, ticket))[0].status == Status.SENT
    async with db.uow() as uow:
        actions = (await uow.session.scalars(select(AuditEntry.action))).all()
    assert actions.count("sla_nudge") == 1


async def test_an_answer_a_close_or_a_release_calls_the_nudge_off(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory)
    answered = await claimed(rig)
    await rig.family.text("Вы здесь?")
    await rig.write(answered, "Да, звоню вам завтра")  # the coordinator answers in the thread
    assert [r.status for r in await nudges(rig, answered)] == [Status.CANCELLED]
    rig.clock.move(timedelta(minutes=5))
    await rig.family.text("Спасибо, ждём")  # a new question: a new nudge waits
    assert [r.status for r in await nudges(rig, answered)] == [Status.CANCELLED, Status.PENDING]
    await rig.coordinator("oc-helped", answered)  # closed: nothing is owed any more
    assert [r.status for r in await nudges(rig, answered)] == [Status.CANCELLED, Status.CANCELLED]
    rig.clock.move(2 * DAY)
    await rig.tick()
    assert nudged(rig) == []


async def test_a_released_request_is_not_nudged_even_if_the_row_was_missed(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await claimed(rig)
    await rig.family.text("Вы здесь?")
    await rig.coordinator("release", ticket)
    [row] = await nudges(rig, ticket)
    assert row.status == Status.CANCELLED
    async with db.uow() as uow:  # as if an older version had left it pending: checked again when due
        (await uow.followups.get(row.id)).status = Status.PENDING  # type: ignore[union-attr]
    rig.clock.move(2 * DAY)
    await rig.tick()
    assert nudged(rig) == [] and (await nudges(rig, ticket))[0].status == Status.SKIPPED


async def test_a_nudge_due_during_downtime_is_sent_after_the_restart(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await claimed(rig)
    await rig.family.text("Вы здесь?")
    rig.clock.move(DAY + timedelta(hours=5))  # the bot was down when it fell due
    restarted = rig.make_job()  # a new process: nothing but the table remembers it
    assert await restarted.run_once(rig.clock()) == 1
    assert await restarted.run_once(rig.clock()) == 0
    assert len(nudged(rig)) == 1
    assert (await nudges(rig, ticket))[0].status == Status.SENT


async def test_two_runners_over_one_database_send_each_nudge_once(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    tickets = []
    for n in range(3):
        rig.family = Family(rig.service, user_id=4200 + n)  # one request each: a family's second would merge
        rig.family.update_id = rig.family.message_id = 1000 * (n + 1)  # update ids are unique per platform
        tickets.append(await claimed(rig))
        await rig.family.text(f"Вопрос по заявке {tickets[-1]}")
    rig.clock.move(DAY + timedelta(minutes=1))
    # A second bot process: its own engine and pool over the same SQLite file or PostgreSQL database.
    other_db = Database(create_engine(db.engine.url.render_as_string(hide_password=False)))
    try:
        other = Rig(other_db, translators, directory, clock=rig.clock, messenger=rig.messenger)
        await asyncio.gather(rig.tick(), other.tick(), rig.tick(), other.tick())
    finally:
        await other_db.dispose()
    rows = [r for t in tickets for r in await nudges(rig, t)]
    assert [r.status for r in rows] == [Status.SENT] * 3
    assert sorted(t for t in tickets for text in nudged(rig) if f"#{t} " in text) == sorted(tickets)
    assert len(nudged(rig)) == 3


async def test_a_coordinator_who_left_the_chat_is_not_nudged_the_group_is(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory)
    ticket = await claimed(rig)
    await rig.family.text("Вы здесь?")
    await rig.membership(EventKind.MEMBER_LEFT)
    await rig.membership(EventKind.MEMBER_LEFT, user_id=999)  # someone else leaving changes nothing
    await rig.membership(EventKind.MEMBER_LEFT)  # told twice (a service message and chat_member)
    rig.clock.move(DAY + timedelta(minutes=1))
    await rig.tick()
    [text] = nudged(rig)
    assert "Olga" not in text and "no longer in this chat" in text and f"#{ticket}" in text
    async with db.uow() as uow:
        left = (
            await uow.session.execute(select(AuditEntry.actor).where(AuditEntry.action == "member_left"))
        ).all()
    assert sorted(actor for (actor,) in left) == ["tg:7", "tg:999"], "once each"


async def test_a_no_after_the_coordinator_left_goes_to_the_group_and_back_after_rejoining(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    await rig.membership(EventKind.MEMBER_LEFT)
    rig.clock.move(timedelta(days=3))
    await rig.tick()
    await rig.family.press("f_checkin", "no")
    await rig.family.press("f_comment", "skip")
    reopened = await rig.ticket_row(ticket)
    assert (reopened.status, reopened.assignee) == (TicketStatus.NEW.value, None)
    await rig.tick()
    assert "waits to be taken" in rig.to_group()[-1].text
    # Someone who comes back is active again: the next request they close is theirs on a "no".
    await rig.membership(EventKind.MEMBER_JOINED)
    async with db.uow() as uow:
        assert await uow.members.active(f"tg:{-100500}", "tg:7")
