"""The check-in journey end to end: the real aiogram bot against the Bot API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from handlers.background import Job
from storage.models import utcnow
from tests.e2e import GROUP, HandledUpdates, Parent, cards, introduce, press, settled, start_app


@pytest.fixture
async def quiet_off_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    # Quiet hours off: the test runs at any hour of the day and moves the clock itself.
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}", quiet_hours="off")
    yield app
    await app.stop()


@pytest.fixture
def parent_of(emulator: TelegramEmulator, quiet_off_app: Application) -> Parent:
    return Parent(emulator=emulator, handled=HandledUpdates(quiet_off_app), user_id=6001)


def followup_job(app: Application) -> Job:
    assert app.background is not None
    return next(job for job in app.background.jobs if job.name == "followups")


async def test_closed_offered_checked_in_and_reopened_for_the_same_coordinator(
    parent_of: Parent, emulator: TelegramEmulator, quiet_off_app: Application
) -> None:
    family, desk_app = parent_of, quiet_off_app
    introduce(emulator, 201, "Вера")
    await family.say("/start")
    await family.tap_value("yes")
    await family.walk("new", "no", "legal", "alimony", "1", "9", "r.spb")
    await family.say("Бывший муж не платит алименты")
    await family.walk("done", "chat", "send")
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(desk_app)
    [card] = cards(emulator)
    await press(emulator, 201, card, emulator.button_data(card, "Беру"))
    await press(emulator, 201, card, emulator.button_data(emulator.sent_to(GROUP)[0], "Закрыть"))
    helped = next(d for _t, d in emulator.buttons(emulator.sent_to(GROUP)[0]) if "oc-helped" in d)
    await press(emulator, 201, card, helped)

    def offers() -> int:
        return sum("Можно мы напишем" in (m.text or "") for m in emulator.sent_to(family.chat_id))

    job, now = followup_job(desk_app), utcnow()
    # The offer, as soon as it is closed: sent by this round, or by the app's own follow-up tick if
    # that came first (it runs every 30 s beside the test), so it is waited for, and counted.
    await job.run_once(now)
    await emulator.wait_for(lambda: offers() > 0, timeout=10)
    assert offers() == 1, "offered once"
    await family.tap_value("yes")
    await job.run_once(now + timedelta(days=3))
    await emulator.wait_for(
        lambda: any("получили помощь" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    # Counted before the answer: the app's own tick may tell the thread before this round does.
    before = len(emulator.sent_to(GROUP))
    await family.tap_value("no")
    await family.say("Юрист так и не позвонил")
    await job.run_once(now + timedelta(days=3, minutes=1))
    await emulator.wait_for(
        lambda: any(
            "нужна помощь" in t and "Вера" in t and "позвонил" in t
            for t in (m.text or "" for m in emulator.sent_to(GROUP)[before:])
        ),
        timeout=10,
    )


async def test_an_appointment_offered_in_the_thread_confirmed_and_reminded(
    parent_of: Parent, emulator: TelegramEmulator, quiet_off_app: Application
) -> None:
    family, app = parent_of, quiet_off_app
    introduce(emulator, 201, "Вера")
    await family.say("/start")
    await family.tap_value("yes")
    await family.walk("new", "no", "legal", "alimony", "1", "9", "r.spb")
    await family.say("Нужна консультация юриста")
    await family.walk("done", "chat", "send")
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(app)
    [card] = cards(emulator)
    await press(emulator, 201, card, emulator.button_data(card, "Беру"))
    at = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo("Europe/Moscow")).replace(hour=11, minute=0)
    before = len(emulator.sent_to(GROUP))
    emulator.message(
        201,
        f"/appoint {at:%d.%m} 11:00 Центр семьи, Невский 1; взять паспорт",
        chat_id=GROUP,
        chat_type="supergroup",
        first_name="Вера",
        reply_to_message_id=card.message_id,
    )
    await emulator.wait_for(
        lambda: any("Семье предложена встреча" in (m.text or "") for m in emulator.sent_to(GROUP)[before:])
    )
    job, now = followup_job(app), utcnow()
    await job.run_once(now)
    await emulator.wait_for(  # the offer, then its question with the buttons
        lambda: any("Сможете прийти" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    # Counted before the answer: the app's own tick may tell the thread before this round does.
    before = len(emulator.sent_to(GROUP))
    await family.tap_value("confirm")
    await job.run_once(now)
    await emulator.wait_for(
        lambda: any("подтвердила" in (m.text or "") for m in emulator.sent_to(GROUP)[before:]), timeout=10
    )
    await job.run_once(at - timedelta(hours=2))
    await emulator.wait_for(
        lambda: any("Напоминаем" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
