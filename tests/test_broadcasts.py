"""Broadcasts through the conversation service and the sender job, over a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dialogs.directory import Directory
from dialogs.i18n import Translators
from handlers.localtime import Hours
from storage.models import AuditEntry
from storage.uow import Database
from storage.vocabulary import RecipientStatus
from tests.broadcast_support import ADMIN, LEASE_OVER, BroadcastRig
from tests.followup_support import MovableClock


@pytest.fixture
def rig(db: Database, translators: Translators, directory: Directory) -> BroadcastRig:
    return BroadcastRig(db, translators, directory)


async def test_opt_in_is_its_own_question_after_consent(rig: BroadcastRig) -> None:
    family = rig.admin.__class__(rig.service, user_id=50)
    await family.command("start")
    await family.press("consent", "yes")
    texts = [s.text for s in rig.messenger.to(50)]
    assert any("announcements about help" in t or "объявления" in t for t in texts)
    assert not (await rig.person(50)).announcements, "consent alone does not subscribe"
    await family.press("*", "ann_yes")
    assert (await rig.person(50)).announcements
    # /my_data keeps its toggle
    await family.command("my_data")
    await family.press("my_data", "ann_off")
    assert not (await rig.person(50)).announcements


async def test_admin_composes_previews_and_each_family_gets_it_once(rig: BroadcastRig) -> None:
    for uid in (11, 12, 13):
        await rig.family(uid)
    await rig.family(14, opt_in=False)
    await rig.compose()
    preview = rig.messenger.to(ADMIN)[-2:]
    assert "📣" in preview[0].text and "<b>10:00</b>" in preview[0].text, "shown exactly as families see it"
    assert preview[0].buttons, "with the unsubscribe button"
    assert "3" in preview[1].text
    await rig.admin.press("bc_preview", "now")
    await rig.drain()
    for uid in (11, 12, 13):
        got = rig.messenger.announcements(uid)
        assert len(got) == 1 and "<b>10:00</b>" in got[0].text
        assert got[0].buttons[0][0].payload is not None and got[0].buttons[0][0].payload.value == "unsub"
    assert rig.messenger.announcements(14) == []
    report = rig.messenger.to(ADMIN)[-1].text
    assert "finished" in report and "Delivered: 3" in report
    assert [b.status for b in await rig.broadcasts()] == ["done"]


async def test_two_runners_racing_send_each_once(rig: BroadcastRig) -> None:
    for uid in range(20, 40):
        await rig.family(uid)
    await rig.compose()
    await rig.admin.press("bc_preview", "now")
    first, second = rig.job(), rig.job()
    for _ in range(10):
        await asyncio.gather(first.run_once(rig.clock()), second.run_once(rig.clock()))
    for uid in range(20, 40):
        assert len(rig.messenger.announcements(uid)) == 1, uid
    assert {r.status for r in await rig.rows()} == {RecipientStatus.SENT.value}


class CrashError(Exception):
    pass


async def test_resume_after_a_crash_sends_nobody_twice(rig: BroadcastRig) -> None:
    for uid in range(60, 72):
        await rig.family(uid)
    await rig.compose()
    await rig.admin.press("bc_preview", "now")
    calls = 0

    async def crashing(person: str, event: Any, **kwargs: Any) -> object:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise CrashError  # the process dies while the platform is being called
        return await rig.service.push(person, event, **kwargs)

    with pytest.raises(CrashError):
        await rig.drain(rig.job(crashing))
    rig.clock.move(LEASE_OVER)  # the dead runner's leases run out
    await rig.drain()
    counts = [len(rig.messenger.announcements(uid)) for uid in range(60, 72)]
    assert max(counts) == 1, "nobody twice"
    assert sum(counts) == 11, "everyone else resumed; only the one in flight at the crash is lost"
    statuses = [r.status for r in await rig.rows()]
    assert statuses.count(RecipientStatus.SENDING.value) == 1


async def test_opt_out_is_honoured_from_an_old_announcement(rig: BroadcastRig) -> None:
    family = await rig.family(80)
    await rig.family(81)
    await rig.compose("first")
    await rig.admin.press("bc_preview", "now")
    await rig.drain()
    assert len(rig.messenger.announcements(80)) == 1
    await family.press("t_danger", "no")  # somewhere else in the dialog meanwhile
    await family.press("*", "unsub")  # the button of the earlier announcement
    assert not (await rig.person(80)).announcements
    why = rig.messenger.to(80)[-1]
    assert [b.payload.value for row in why.buttons for b in row if b.payload] == [
        "unsub_many",
        "unsub_irrelevant",
        "unsub_other",
    ]
    await family.press("*", "unsub_many")
    async with rig.db.uow() as uow:
        reasons = (
            await uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "unsubscribe_reason"))
        ).all()
        assert [r.details for r in reasons] == [{"reason": "many"}]
    await rig.compose("second")
    await rig.admin.press("bc_preview", "now")
    await rig.drain()
    assert len(rig.messenger.announcements(80)) == 1 and len(rig.messenger.announcements(81)) == 2


async def test_opt_out_after_the_rows_are_written_is_skipped(rig: BroadcastRig) -> None:
    family = await rig.family(85)
    await rig.compose()
    await rig.admin.press("bc_preview", "now")
    async with rig.db.uow() as uow:
        for due in await uow.broadcasts.due(rig.clock()):
            await uow.broadcasts.start(due)
    await family.command("my_data")
    await family.press("my_data", "ann_off")
    await rig.drain()
    assert rig.messenger.announcements(85) == []
    assert [r.status for r in await rig.rows()] == [RecipientStatus.SKIPPED.value]


async def test_blocked_people_are_marked_unreachable_and_reported(rig: BroadcastRig) -> None:
    await rig.family(90)
    await rig.family(91)
    rig.messenger.blocked.add(91)
    await rig.compose()
    await rig.admin.press("bc_preview", "now")
    await rig.drain()
    assert not (await rig.person(91)).reachable
    assert sorted(r.status for r in await rig.rows()) == ["sent", "unreachable"]
    assert "Unreachable: 1" in rig.messenger.to(ADMIN)[-1].text


async def test_cancel_stops_a_waiting_broadcast(rig: BroadcastRig) -> None:
    await rig.family(95)
    await rig.compose()
    await rig.admin.press("bc_preview", "later")
    await rig.admin.text("31.12 18:30")
    assert rig.messenger.to(ADMIN)[-1].text.startswith("🕒")
    await rig.admin.command("broadcast_cancel")
    assert rig.messenger.to(ADMIN)[-1].text.startswith("⛔")
    rig.clock.move(timedelta(days=400))
    await rig.drain()
    assert rig.messenger.announcements(95) == []
    assert [b.status for b in await rig.broadcasts()] == ["cancelled"]


async def test_a_scheduled_broadcast_goes_at_its_time(
    db: Database, translators: Translators, directory: Directory
) -> None:
    clock = MovableClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # 12:00 in Moscow
    rig = BroadcastRig(db, translators, directory, clock=clock)
    await rig.family(100)
    await rig.compose()
    await rig.admin.press("bc_preview", "later")
    await rig.admin.text("01.12 18:30")  # Moscow time: 15:30 UTC
    clock.now = datetime(2026, 12, 1, 15, 29, tzinfo=UTC)
    await rig.drain()
    assert rig.messenger.announcements(100) == []
    clock.now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    await rig.drain(rig.job())  # a new runner: as after a restart
    assert len(rig.messenger.announcements(100)) == 1


async def test_quiet_hours_hold_it_until_the_familys_morning(
    db: Database, translators: Translators, directory: Directory
) -> None:
    clock = MovableClock(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))  # 23:00 in Moscow
    rig = BroadcastRig(db, translators, directory, clock=clock, quiet=Hours(21, 9))
    await rig.family(110)
    await rig.compose()
    await rig.admin.press("bc_preview", "now")
    await rig.drain()
    assert rig.messenger.announcements(110) == []
    assert "1 wait for the end of quiet hours" in rig.messenger.to(ADMIN)[-1].text
    clock.now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    await rig.drain()
    assert len(rig.messenger.announcements(110)) == 1


async def test_a_family_mid_dialog_gets_it_after_its_step(rig: BroadcastRig) -> None:
    family = await rig.family(120)
    await family.press("menu", "new")  # now in the middle of the triage
    await rig.compose()
    await rig.admin.press("bc_preview", "now")
    await rig.drain()
    assert rig.messenger.announcements(120) == [], "not on top of the question"
    await family.press("t_danger", "no")
    assert rig.messenger.announcements(120) == [], "nor on top of the next one"
    await family.command("menu")  # at rest: now it is shown, after the family's own screen
    assert len(rig.messenger.announcements(120)) == 1
    assert rig.messenger.to(120)[-1] == rig.messenger.announcements(120)[0]


@pytest.mark.parametrize(
    ("kind", "value"), [("command", "broadcast"), ("command", "broadcast_cancel"), ("command", "admin")]
)
async def test_non_admins_get_the_unknown_command_answer(rig: BroadcastRig, kind: str, value: str) -> None:
    family = await rig.family(130)
    await family.command(value)
    assert (
        "don't know this command" in rig.messenger.to(130)[-1].text
        or "не знаю" in rig.messenger.to(130)[-1].text
    )


async def test_forged_admin_buttons_change_nothing(rig: BroadcastRig) -> None:
    family = await rig.family(131)
    for step, value in [
        ("bc_preview", "now"),
        ("bc_home", "stop"),
        ("adm_home", "broadcasts"),
        ("bc_aud", "all"),
    ]:
        await family.press(step, value)
    assert await rig.broadcasts() == []
    async with rig.db.uow() as uow:
        state = await uow.dialogs.load("tg:131")
    assert state is not None and not state[0].startswith(("bc_", "adm_"))


async def test_a_removed_admin_is_back_in_the_familys_dialog(rig: BroadcastRig) -> None:
    await rig.admin.command("broadcast")
    rig.admin.role = rig.admin.role.FAMILY  # no longer in ADMIN_IDS
    await rig.admin.text("a text")
    await rig.admin.press("bc_aud", "all")
    async with rig.db.uow() as uow:
        state = await uow.dialogs.load(f"tg:{ADMIN}")
    assert state is not None and not state[0].startswith("bc_")
    assert await rig.broadcasts() == []


async def test_an_admin_mid_wizard_gets_an_announcement_after_it(rig: BroadcastRig) -> None:
    await rig.admin.command("start")
    await rig.admin.press("consent", "yes")
    await rig.admin.press("*", "ann_yes")
    await rig.compose()
    await rig.admin.press("bc_preview", "now")
    await rig.admin.command("broadcast")  # writing the next one meanwhile
    await rig.drain()
    async with rig.db.uow() as uow:
        state = await uow.dialogs.load(f"tg:{ADMIN}")
    assert state is not None and state[0] == "bc_text", "the wizard is not left for a system turn"


async def test_progress_is_one_message_edited_then_a_final_report(rig: BroadcastRig) -> None:
    for uid in range(140, 155):
        await rig.family(uid)
    await rig.compose()
    await rig.admin.press("bc_preview", "now")
    before = len(rig.messenger.to(ADMIN))
    job = rig.job()
    while await job.run_once(rig.clock()):
        rig.clock.move(timedelta(seconds=6))
    reports = rig.messenger.to(ADMIN)[before:]
    assert len(reports) == 2 and "sent" in reports[0].text and "finished" in reports[1].text
    edits = [s.text for chat, _id, s in rig.messenger.edited if chat == ADMIN]
    assert edits and "15" in edits[-1], "the progress message is edited as it goes"
