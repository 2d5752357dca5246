"""Quiet hours in the family's own time zone move follow-ups to its morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialogs.cards import Speaker
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from handlers.dialog_context import ConversationSettings
from handlers.localtime import Hours, zone_of
from storage.models import Outbox, Ticket
from storage.uow import Database
from tests.followup_support import Rig

# Coordinators at work 09-21 in Moscow (DEFAULT_TIMEZONE).
AT_WORK_9_TO_21 = ConversationSettings(
    consent_version="v-test",
    default_locale="ru",
    working_hours=Hours(9, 21),
    desk_zone=ZoneInfo("Europe/Moscow"),
)

QUIET = Hours(21, 9)


@pytest.mark.parametrize(
    ("region", "zone", "utc_hour"),
    [
        ("kgd", "Europe/Kaliningrad", 20),  # 22:00 in Kaliningrad (UTC+2): quiet
        ("primorye", "Asia/Vladivostok", 12),  # 22:00 in Vladivostok (UTC+10): quiet
    ],
)
async def test_a_check_in_due_in_the_familys_night_waits_for_its_morning(
    db: Database, translators: Translators, directory: Directory, region: str, zone: str, utc_hour: int
) -> None:
    rig = Rig(db, translators, directory, quiet=QUIET)
    ticket = await rig.closed_ticket()
    async with db.uow() as uow:
        row = await uow.tickets.get(ticket)
        assert row is not None
        row.region_code = region
    # The offer is due at the close; it is evening there.
    night = datetime.now(UTC).replace(hour=utc_hour, minute=0, second=0, microsecond=0) + timedelta(days=1)
    rig.clock.now = night
    before = len(rig.to_family())
    await rig.tick()
    assert len(rig.to_family()) == before  # not at 22:00 local
    [offer] = await rig.rows(ticket)
    local_due = offer.due_at.astimezone(ZoneInfo(zone))
    assert (local_due.hour, local_due.minute, local_due.date()) == (
        9,
        0,
        (night + timedelta(days=1)).astimezone(ZoneInfo(zone)).date(),
    )
    rig.clock.now = offer.due_at
    await rig.tick()
    assert "Можно мы напишем" in rig.to_family()[-1].text


def test_the_same_moment_is_quiet_in_one_zone_and_not_in_another(directory: Directory) -> None:
    moment = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)  # 08:30 in Kaliningrad, 16:30 in Vladivostok
    kaliningrad = zone_of(directory, "kgd", ZoneInfo("Europe/Moscow"))
    vladivostok = zone_of(directory, "primorye", ZoneInfo("Europe/Moscow"))
    assert QUIET.contains(moment, kaliningrad)
    assert not QUIET.contains(moment, vladivostok)
    assert QUIET.next_end(moment, kaliningrad) == datetime(2026, 12, 1, 9, 0, tzinfo=kaliningrad)
    assert zone_of(directory, None, ZoneInfo("Europe/Moscow")) == ZoneInfo("Europe/Moscow")


def test_hours_parse_and_wrap() -> None:
    assert Hours.parse("off") is None
    assert Hours.parse("09-21") == Hours(9, 21)
    moscow = ZoneInfo("Europe/Moscow")
    assert Hours(9, 21).contains(datetime(2026, 12, 1, 6, 0, tzinfo=UTC), moscow)  # 09:00
    assert not Hours(9, 21).contains(datetime(2026, 12, 1, 18, 0, tzinfo=UTC), moscow)  # 21:00


def test_every_federal_subject_is_there_with_a_zone_and_old_codes_kept(directory: Directory) -> None:
    codes = [r.code for r in directory.regions]
    assert len(codes) == len(set(codes)) == 89
    old = ["msk", "mo", "spb", "lo", "nnov", "kzn", "ekb", "nsk", "krd", "rnd", "sam", "perm", "chel"]
    assert codes[: len(old)] == old and {"bash", "vrn", "vlg"} <= set(codes)
    assert (
        len(
            {r.tz for r in directory.regions}
            and {r.zone.utcoffset(datetime(2026, 1, 1)) for r in directory.regions}
        )
        == 11
    )
    for name in (
        "Владимирская область",
        "Ярославль",
        "Иваново",
        "Брянск",
        "Орёл",
        "Вологда",
        "Тула",
        "Новгород",
        "Приморье",
    ):
        assert directory.find_region(name) is not None, name
    assert directory.find_region("Новгород").code == "novgorod"  # type: ignore[union-attr]
    assert directory.find_region("Нижний Новгород").code == "nnov"  # type: ignore[union-attr]
    assert directory.find_region("Орёл").code == "oryol"  # type: ignore[union-attr]
    assert directory.find_region("абракадабра") is None


async def _night_request(
    db: Database, translators: Translators, directory: Directory, *, danger: bool
) -> Rig:
    rig = Rig(db, translators, directory, conversation=AT_WORK_9_TO_21)
    rig.clock.now = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 03:00 in Moscow
    f = rig.family
    await f.send(Event(kind=EventKind.COMMAND, command="start"))
    await f.press("consent", "yes")
    await f.press("menu", "new")
    await f.press("t_danger", "no")
    await f.press("t_category", "other")
    await f.press("t_children", "0")
    await f.press("t_region", "r.primorye")
    await f.text("Муж избивает меня и детей" if danger else "Нужна помощь с документами")
    await f.press("t_desc", "done")
    await f.press("t_contact", "chat")
    await f.press("t_summary", "send")
    return rig


async def test_a_request_at_3_am_is_told_when_a_person_will_read_it(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = await _night_request(db, translators, directory, danger=False)
    done = next(s.text for s in reversed(rig.to_family()) if "принята" in s.text or "#" in s.text)
    # 09:00 in Moscow is 16:00 in Primorye, the family's own time, in its language.
    assert "2 декабря, 16:00" in done
    assert "112" in done and "8-800-2000-122" in done


async def test_an_urgent_request_at_night_still_escalates_at_once(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = await _night_request(db, translators, directory, danger=True)
    async with db.uow() as uow:
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
        [row] = (await uow.session.scalars(select(Outbox))).all()
    assert ticket.urgent and row.urgent  # queued first for the coordinators, nothing held till morning
    assert any("112" in s.text for s in rig.to_family())


async def test_in_working_hours_nothing_is_added(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory, conversation=AT_WORK_9_TO_21)
    rig.clock.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
    await rig.ticket()
    assert not any("не на работе" in s.text for s in rig.to_family())


async def test_the_time_on_a_taken_card_is_in_the_coordinators_zone(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    rig.desk._speaker = Speaker(translators["ru"], "ru", directory, ZoneInfo("Asia/Vladivostok"))
    rig.clock.now = datetime(2026, 11, 28, 5, 37, tzinfo=UTC)
    ticket = await rig.ticket()
    await rig.coordinator("claim", ticket)
    [(_chat, _message, taken)] = rig.messenger.edited[-1:]
    assert "28.11 15:37" in taken.text and "UTC" not in taken.text
    utc = Speaker(translators["en"], "en", directory)
    assert utc.when(datetime(2026, 11, 28, 5, 37, tzinfo=UTC)) == "28.11 05:37 UTC"


async def test_a_chat_bound_to_primorye_sees_times_in_vladivostok_time(
    db: Database, translators: Translators, directory: Directory
) -> None:
    rig = Rig(db, translators, directory)
    rig.desk._speaker = Speaker(translators["en"], "en", directory, ZoneInfo("Europe/Moscow"))
    rig.desk._directory = directory
    async with db.uow() as uow:
        await uow.bindings.add("tg:-100500", "primorye", None, "tg:1")
    rig.clock.now = datetime(2026, 11, 28, 5, 37, tzinfo=UTC)
    ticket = await rig.ticket()
    await rig.coordinator("claim", ticket)
    assert "28.11 15:37" in rig.messenger.edited[-1][2].text  # not Moscow's 08:37
