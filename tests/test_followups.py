"""Follow-ups after a ticket closed: asked, scheduled, sent once at the right moment, answered."""

from __future__ import annotations

from datetime import timedelta

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from handlers.ports import DeliveryFailedError
from storage.models import FollowUp
from storage.uow import Database
from storage.vocabulary import FollowUpKind, FollowUpStatus, TicketStatus
from tests.followup_support import Rig

Status = FollowUpStatus


def _statuses(rows: list[FollowUp]) -> list[tuple[str, str]]:
    return [(r.kind, r.status) for r in rows]


async def test_only_a_yes_schedules_check_ins_at_the_offsets_after_closing(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    closed_at = (await rig.ticket_row(ticket)).closed_at
    assert closed_at is not None
    assert _statuses(await rig.rows(ticket)) == [("offer", "pending")]
    assert await rig.tick() == 1
    assert "Можно мы напишем" in rig.to_family()[-1].text
    held = await rig.rows(ticket)
    assert [r.status for r in held if r.kind == FollowUpKind.CHECKIN] == ["held", "held"]
    assert [r.due_at - closed_at for r in held if r.kind == FollowUpKind.CHECKIN] == [
        timedelta(days=3),
        timedelta(days=14),
    ]
    await rig.family.press("f_offer", "yes")
    rows = await rig.rows(ticket)
    assert _statuses(rows) == [("offer", "answered"), ("checkin", "pending"), ("checkin", "pending")]
    assert rows[0].answer == "allow"


async def test_a_no_to_the_offer_cancels_every_check_in(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.tick()
    await rig.family.press("f_offer", "no")
    assert [r.status for r in await rig.rows(ticket)] == ["answered", "cancelled", "cancelled"]
    rig.clock.move(timedelta(days=15))
    before = len(rig.to_family())
    assert await rig.tick() == 0
    assert len(rig.to_family()) == before


async def test_the_check_in_comes_at_the_right_moment_and_yes_is_recorded_with_a_rating(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    sent = len(rig.to_family())
    rig.clock.move(timedelta(days=3) - timedelta(minutes=1))
    assert await rig.tick() == 0  # not yet
    assert len(rig.to_family()) == sent
    rig.clock.move(timedelta(minutes=1))
    assert await rig.tick() == 1
    texts = [s.text for s in rig.to_family()[sent:]]
    assert any("получили помощь" in t for t in texts)
    assert rig.to_family()[-1].intent == "confirmed_notification"  # VK's intent for what they agreed to
    await rig.family.press("f_checkin", "yes")
    await rig.family.press("f_rating", "r.5")
    first = (await rig.rows(ticket))[1]
    assert (first.status, first.answer, first.rating) == ("answered", "yes", 5)
    assert (await rig.ticket_row(ticket)).status == TicketStatus.CLOSED.value
    await rig.family.press("f_checkin", "no")  # an old button: nothing changes
    assert (await rig.ticket_row(ticket)).status == TicketStatus.CLOSED.value


async def test_no_reopens_for_the_same_coordinator_who_is_told_in_the_thread(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    rig.clock.move(timedelta(days=3))
    await rig.tick()
    await rig.family.press("f_checkin", "no")
    await rig.family.text("Нам так и не привезли продукты")
    row = (await rig.rows(ticket))[1]
    assert (row.answer, row.comment) == ("no", "Нам так и не привезли продукты")
    reopened = await rig.ticket_row(ticket)
    assert (reopened.status, reopened.assignee) == (TicketStatus.CLAIMED.value, "tg:7")
    group_before = len(rig.to_group())
    await rig.tick()
    told = [s.text for s in rig.to_group()[group_before:]]
    assert len(told) == 1
    assert f"#{ticket}" in told[0] and "still needs help" in told[0] and "Olga" in told[0]
    assert "привезли" in told[0]
    await rig.tick()
    assert len(rig.to_group()) == group_before + 1  # told once


async def test_partly_without_a_comment_does_not_reopen_and_with_one_does(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    rig.clock.move(timedelta(days=3))
    await rig.tick()
    await rig.family.press("f_checkin", "partly")
    await rig.family.press("f_comment", "skip")
    assert (await rig.ticket_row(ticket)).status == TicketStatus.CLOSED.value
    rig.clock.move(timedelta(days=11))
    await rig.tick()
    await rig.family.press("f_checkin", "partly")
    await rig.family.text("Юрист не перезвонил")
    assert (await rig.ticket_row(ticket)).status == TicketStatus.CLAIMED.value


async def test_a_coordinator_who_is_gone_leaves_the_ticket_to_the_group(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    async with db.uow() as uow:  # unassigned since (the coordinator left)
        row = await uow.tickets.get(ticket)
        assert row is not None
        row.assignee = None
    rig.clock.move(timedelta(days=3))
    await rig.tick()
    await rig.family.press("f_checkin", "no")
    await rig.family.press("f_comment", "skip")
    assert (await rig.ticket_row(ticket)).status == TicketStatus.NEW.value
    await rig.tick()
    assert "waits to be taken" in rig.to_group()[-1].text


async def test_after_downtime_overdue_rows_go_once_and_very_late_ones_expire(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    # The bot is down from now on; it comes back 16 days later: the 3-day check-in is 13 days late
    # (expired), the 14-day one 2 days late (sent, once).
    rig.clock.move(timedelta(days=16))
    restarted = rig.make_job()
    before = len(rig.to_family())
    await restarted.run_once(rig.clock())
    await restarted.run_once(rig.clock())
    rows = await rig.rows(ticket)
    assert [r.status for r in rows[1:]] == ["expired", "sent"]
    asked = [s for s in rig.to_family()[before:] if "получили помощь" in s.text]
    assert len(asked) == 1


async def test_a_ticket_reopened_meanwhile_or_a_family_gone_gets_nothing(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    await rig.coordinator("reopen", ticket)
    rig.clock.move(timedelta(days=3))
    before = len(rig.to_family())
    await rig.tick()
    assert len(rig.to_family()) == before
    assert (await rig.rows(ticket))[1].status == Status.SKIPPED


async def test_an_unreachable_family_is_skipped(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    async with db.uow() as uow:
        await uow.people.set_reachable("tg:42", False)
    rig.clock.move(timedelta(days=3))
    before = len(rig.to_family())
    await rig.tick()
    assert len(rig.to_family()) == before
    assert (await rig.rows(ticket))[1].status == Status.SKIPPED


async def test_a_family_that_deleted_its_data_gets_nothing(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    await rig.family.send(Event(kind=EventKind.COMMAND, command="delete_my_data"))
    await rig.family.press("delete_confirm", "yes")
    rig.clock.move(timedelta(days=3))
    before = len(rig.to_family())
    await rig.tick()
    assert len(rig.to_family()) == before
    assert {r.status for r in (await rig.rows(ticket))[1:]} == {Status.SKIPPED}


async def test_a_family_in_the_middle_of_a_step_gets_the_check_in_after_it(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    await rig.family.press("menu", "new")  # in the middle of a new request, just now
    # The dialog store stamps states with the real time, so the check-in is made due now instead of
    # moving the clock days ahead (which would make the family look idle).
    async with db.uow() as uow:
        first = (await uow.followups.of_ticket(ticket))[1]
        first.due_at = rig.clock.now
    before = len(rig.to_family())
    await rig.tick()
    assert not any("получили помощь" in s.text for s in rig.to_family()[before:])
    assert (await rig.rows(ticket))[1].status == Status.SENT  # handed to the dialog, shown after the step
    await rig.family.press("t_danger", "no")
    assert not any("получили помощь" in s.text for s in rig.to_family()[before:])
    await rig.family.send(Event(kind=EventKind.COMMAND, command="start"))  # back at rest: now it comes
    later = [s.text for s in rig.to_family()[before:]]
    assert any("получили помощь" in t for t in later)
    await rig.family.press("f_checkin", "yes")
    assert (await rig.rows(ticket))[1].answer == "yes"


async def test_a_refused_send_is_marked_and_audited_not_retried(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    ticket = await rig.closed_ticket()
    await rig.allow(ticket)
    rig.clock.move(timedelta(days=3))
    rig.messenger.fail_with = DeliveryFailedError("VK error 943")
    await rig.tick()
    rig.messenger.fail_with = None
    assert (await rig.rows(ticket))[1].status == Status.FAILED
    async with db.uow() as uow:
        assert "followup_not_sent" in [e.action for e in await uow.audit.for_ticket(ticket)]
    rig.clock.move(timedelta(minutes=10))
    await rig.tick()
    assert (await rig.rows(ticket))[1].status == Status.FAILED


async def test_two_runners_over_one_database_send_each_check_in_once(
    db: Database, translators: Translators, directory: Directory
) -> None:
    import asyncio

    from storage.db import create_engine

    rig = Rig(db, translators, directory)
    tickets = []
    for _ in range(3):
        tickets.append(await rig.closed_ticket())
        await rig.allow(tickets[-1])
    rig.clock.move(timedelta(days=14))
    # A second bot process: its own engine and pool over the same SQLite file or PostgreSQL database.
    other_db = Database(create_engine(db.engine.url.render_as_string(hide_password=False)))
    try:
        other = Rig(other_db, translators, directory, clock=rig.clock, messenger=rig.messenger)
        before = len(rig.to_family())
        await asyncio.gather(rig.tick(), other.tick(), rig.tick(), other.tick())
    finally:
        await other_db.dispose()
    asked = [s for s in rig.to_family()[before:] if "получили помощь" in s.text]
    rows = [r for t in tickets for r in await rig.rows(t)]
    # Due 14 days after closing: the 3-day check-ins expired, each 14-day one went exactly once.
    assert sorted(r.status for r in rows if r.kind == "checkin") == ["expired"] * 3 + ["sent"] * 3
    assert len(asked) == 3
