"""WORKING_HOURS in the coordinators' own time zone: that of the chat a request is routed to (its
bound region), else DEFAULT_TIMEZONE. Checked with a chat bound to Primorye (Vladivostok, UTC+10)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from handlers.dialog_context import ConversationSettings
from handlers.localtime import Hours
from storage.uow import Database
from tests.followup_support import GROUP, Rig

VLADIVOSTOK_CHAT = "tg:-100700"
AT_WORK_9_TO_21 = ConversationSettings(
    consent_version="v-test",
    default_locale="ru",
    working_hours=Hours(9, 21),
    desk_zone=ZoneInfo("Europe/Moscow"),
    default_chat=f"tg:{GROUP}",
)


async def request_at(rig: Rig, moment: datetime, region: str) -> str:
    """A family files a request at ``moment``; returns the confirmation it is shown."""
    rig.clock.now = moment
    f = rig.family
    await f.send(Event(kind=EventKind.COMMAND, command="start"))
    await f.press("consent", "yes")
    await f.press("menu", "new")
    await f.press("t_danger", "no")
    await f.press("t_category", "other")
    await f.press("t_children", "0")
    await f.press("t_region", f"r.{region}")
    await f.text("Нужна помощь с документами")
    await f.press("t_desc", "done")
    await f.press("t_contact", "chat")
    await f.press("t_summary", "send")
    return next(s.text for s in reversed(rig.to_family()) if "принята" in s.text)


async def bound_to_primorye(db: Database) -> None:
    async with db.uow() as uow:
        await uow.bindings.add(VLADIVOSTOK_CHAT, "primorye", None, "tg:1")


async def test_a_vladivostok_chat_at_its_midnight_tells_the_family_its_morning(
    db: Database, translators: Translators, directory: Directory
) -> None:
    await bound_to_primorye(db)
    rig = Rig(db, translators, directory, conversation=AT_WORK_9_TO_21)
    # 14:00 UTC: 17:00 in Moscow (at work), 00:00 in Vladivostok (asleep).
    done = await request_at(rig, datetime(2026, 12, 2, 14, 0, tzinfo=UTC), "primorye")
    assert "не на работе" in done
    assert "3 декабря, 09:00" in done  # 09:00 in Vladivostok, the family's own time too
    assert "112" in done


async def test_a_vladivostok_chat_at_work_while_moscow_sleeps_adds_nothing(
    db: Database, translators: Translators, directory: Directory
) -> None:
    await bound_to_primorye(db)
    rig = Rig(db, translators, directory, conversation=AT_WORK_9_TO_21)
    # 00:00 UTC: 03:00 in Moscow (DEFAULT_TIMEZONE asleep), 10:00 in Vladivostok (at work).
    done = await request_at(rig, datetime(2026, 12, 2, 0, 0, tzinfo=UTC), "primorye")
    assert "не на работе" not in done


async def test_a_request_routed_to_the_default_chat_keeps_default_timezone(
    db: Database, translators: Translators, directory: Directory
) -> None:
    await bound_to_primorye(db)  # a Moscow family's request goes to the default chat, not this one
    rig = Rig(db, translators, directory, conversation=AT_WORK_9_TO_21)
    done = await request_at(rig, datetime(2026, 12, 2, 0, 0, tzinfo=UTC), "msk")  # 03:00 in Moscow
    assert "не на работе" in done and "2 декабря, 09:00" in done


async def test_quiet_hours_never_hold_back_a_reply_to_what_the_family_just_wrote(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory, quiet=Hours(21, 9))
    rig.clock.now = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 03:00 in Moscow: quiet hours
    ticket = await rig.ticket()
    await rig.coordinator("claim", ticket)
    before = len(rig.to_family())
    await rig.family.text("Вы здесь? Нам страшно")
    assert any(f"#{ticket}" in s.text and "Передано" in s.text for s in rig.to_family()[before:])
