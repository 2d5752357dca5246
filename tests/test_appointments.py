"""Appointments: offered with /appoint in the thread, answered by the family, reminded, cancelled."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs.directory import Directory
from dialogs.i18n import Translators
from handlers.localtime import Hours
from storage.uow import Database
from storage.vocabulary import FollowUpKind, FollowUpStatus
from tests.followup_support import DeskRig

MOSCOW = ZoneInfo("Europe/Moscow")
Status = FollowUpStatus


def in_days(rig: DeskRig, days: int, hour: int) -> datetime:
    local = rig.clock.now.astimezone(MOSCOW) + timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


async def offered(rig: DeskRig, at: datetime, place: str = "Центр семьи, ул. Ленина 1, взять паспорт") -> int:
    ticket = await rig.ticket()
    await rig.coordinator("claim", ticket)
    said = await rig.write(ticket, f"/appoint {at:%d.%m %H:%M} {place}")
    assert "Offered to the family" in said and at.strftime("%H:%M") in said
    return ticket


async def test_offer_confirm_both_reminders_and_the_thread_told(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory)
    at = in_days(rig, 5, 10)
    ticket = await offered(rig, at)
    rows = await rig.rows(ticket)
    assert [(r.kind, r.status) for r in rows] == [
        ("appt", "pending"),
        ("appt_remind", "held"),
        ("appt_remind", "held"),
    ]
    await rig.tick()
    offer = [s for s in rig.to_family() if "Центр семьи" in s.text]
    assert offer and offer[-1].intent == "customer_support"
    assert f"{at.day} " in offer[-1].text and "10:00" in offer[-1].text  # Babel, the family's language
    await rig.family.press("f_appt", "confirm")
    group = len(rig.to_group())
    await rig.tick()
    assert "confirmed" in rig.to_group()[group].text
    rig.clock.now = at - timedelta(days=1)
    await rig.tick()
    rig.clock.now = at - timedelta(hours=2)
    await rig.tick()
    reminders = [s for s in rig.to_family() if s.text.startswith("⏰")]
    assert len(reminders) == 2 and {s.intent for s in reminders} == {"confirmed_notification"}
    assert [r.status for r in await rig.rows(ticket)] == ["sent", "sent", "sent"]


async def test_cant_come_and_another_time_are_told_and_cancel_the_reminders(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory)
    ticket = await offered(rig, in_days(rig, 5, 10))
    await rig.tick()
    await rig.family.press("f_appt", "other")
    await rig.family.text("Во вторник после 15")
    group = len(rig.to_group())
    await rig.tick()
    assert "another time" in rig.to_group()[group].text and "вторник" in rig.to_group()[group].text
    assert {r.status for r in (await rig.rows(ticket))[1:]} == {Status.CANCELLED}
    # Moved: a new /appoint a little later; the family says it can't come.
    rig.clock.move(timedelta(minutes=5))
    await rig.write(ticket, f"/appoint {in_days(rig, 6, 16):%d.%m %H:%M} Центр семьи")
    await rig.tick()
    await rig.family.press("f_appt", "decline")
    group = len(rig.to_group())
    await rig.tick()
    assert "can't come" in rig.to_group()[group].text


async def test_cancellation_tells_the_family_and_stops_the_reminders(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory)
    at = in_days(rig, 5, 10)
    ticket = await offered(rig, at)
    await rig.tick()
    await rig.family.press("f_appt", "confirm")
    assert "cancelled" in await rig.write(ticket, "/appoint cancel")
    await rig.tick()
    assert any(s.text.startswith("❌") for s in rig.to_family())
    rig.clock.now = at - timedelta(hours=2)
    before = len(rig.to_family())
    await rig.tick()
    assert len(rig.to_family()) == before
    reminders = [r for r in await rig.rows(ticket) if r.kind == FollowUpKind.REMINDER]
    assert {r.status for r in reminders} == {Status.CANCELLED}


async def test_only_the_assignee_appoints_and_bad_input_is_explained(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory)
    ticket = await rig.ticket()
    await rig.coordinator("claim", ticket)
    assert "Only the coordinator" in await rig.write(ticket, "/appoint 05.12 10:00 Центр", user_id=99)
    assert "/appoint DD.MM HH:MM" in await rig.write(ticket, "/appoint завтра в Центре")
    assert "/appoint DD.MM HH:MM" in await rig.write(ticket, "/appoint 31.02 10:00 Центр")
    assert await rig.rows(ticket) == []


async def test_a_reminder_in_the_familys_night_goes_the_evening_before(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory, quiet=Hours(21, 9))
    at = in_days(rig, 5, 8)  # 08:00: its 2-hour reminder would be at 06:00, in quiet hours
    ticket = await offered(rig, at)
    reminders = [r for r in await rig.rows(ticket) if r.kind == FollowUpKind.REMINDER]
    local = sorted(r.due_at.astimezone(MOSCOW) for r in reminders)
    assert local[-1] == (at - timedelta(days=1)).replace(hour=20)  # the evening before, not later


async def test_appoint_alone_asks_when_then_where(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = DeskRig(db, translators, directory)
    ticket = await rig.ticket()
    await rig.coordinator("claim", ticket)
    asked = await rig.write(ticket, "/appoint")
    assert "date and time" in asked and rig.to_group()[-1].force_reply
    asked = await rig.write(ticket, "завтра", reply_to=rig.messenger.next_id)
    assert "like 05.12 14:30" in asked  # asked again, nothing saved
    at = in_days(rig, 4, 15)
    asked = await rig.write(ticket, f"{at:%d.%m %H:%M}", reply_to=rig.messenger.next_id)
    assert "the place" in asked
    said = await rig.write(
        ticket, "Центр семьи, взять свидетельство о рождении", reply_to=rig.messenger.next_id
    )
    assert "Offered to the family" in said and "свидетельство" in said
    assert [r.kind for r in await rig.rows(ticket)] == ["appt", "appt_remind", "appt_remind"]
