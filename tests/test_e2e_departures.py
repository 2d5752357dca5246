"""A coordinator who leaves the coordinators' group, end to end: the real aiogram bot against the
Bot API emulator. Telegram tells it twice (the service message, and ``chat_member``, which the bot
must ask for in ``allowed_updates``); a reopened request then goes to the group, and the day-long
nudge does not name the one who left."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.models import Ticket, utcnow
from storage.vocabulary import TicketStatus
from tests.departure_support import active, audited
from tests.e2e import GROUP, HandledUpdates, Parent, cards, introduce, press, settled, start_app

VERA, ADMIN = 201, 900


@pytest.fixture
async def app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}", quiet_hours="off")
    yield app
    await app.stop()


@pytest.fixture
def family(emulator: TelegramEmulator, app: Application) -> Parent:
    return Parent(emulator=emulator, handled=HandledUpdates(app), user_id=6101)


async def taken(family: Parent, emulator: TelegramEmulator, app: Application) -> int:
    """A request, taken by Vera; returns the card's message id."""
    introduce(emulator, VERA, "Вера")
    await family.say("/start")
    await family.tap_value("yes")
    await family.walk("new", "no", "legal", "alimony", "1", "9", "r.spb")
    await family.say("Бывший муж не платит алименты")
    await family.walk("done", "chat", "send")
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(app)
    [card] = cards(emulator)
    await press(emulator, VERA, card, emulator.button_data(card, "Беру"))
    return card.message_id


async def test_the_bot_asks_for_chat_member_updates_and_records_who_left(
    family: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    introduce(emulator, VERA, "Вера")
    emulator.leave(GROUP, VERA)
    await audited(app, "member_left")
    assert "chat_member" in emulator.allowed_updates
    assert not await active(app, f"tg:{GROUP}", f"tg:{VERA}")
    assert not [u for u in emulator.filtered_updates if "chat_member" in u], "nothing dropped"
    emulator.chat_member(GROUP, VERA, "member")  # added back
    await audited(app, "member_returned")
    assert await active(app, f"tg:{GROUP}", f"tg:{VERA}")
    emulator.assert_no_spec_errors()


async def test_a_no_after_the_coordinator_left_goes_back_to_the_group(
    family: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    card_id = await taken(family, emulator, app)
    card = emulator.find_message(GROUP, card_id)
    assert card is not None
    await press(emulator, VERA, card, emulator.button_data(card, "Закрыть"))
    helped = next(d for _t, d in emulator.buttons(card) if "oc-helped" in d)
    await press(emulator, VERA, card, helped)
    job, now = app.followups, utcnow()
    assert job is not None
    await job.run_once(now)
    await emulator.wait_for(
        lambda: any("Можно мы напишем" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    await family.tap_value("yes")
    emulator.leave(GROUP, VERA, by=ADMIN)  # removed by an admin of the group
    await audited(app, "member_left")
    await job.run_once(now + timedelta(days=3))
    await emulator.wait_for(
        lambda: any("получили помощь" in (m.text or "") for m in emulator.sent_to(family.chat_id))
    )
    # Counted before the answer: the app's own follow-up tick may tell the thread before this round.
    before = len(emulator.sent_to(GROUP))
    await family.tap_value("no")
    await family.say("Юрист так и не позвонил")
    await job.run_once(now + timedelta(days=3, minutes=1))
    await emulator.wait_for(
        lambda: any(
            "позвонил" in t and "ждёт" in t and "Вера" not in t
            for t in (m.text or "" for m in emulator.sent_to(GROUP)[before:])
        ),
        timeout=10,
    )
    assert app.db is not None
    async with app.db.uow() as uow:
        ticket = (await uow.session.scalars(select(Ticket))).one()
    assert (ticket.status, ticket.assignee) == (TicketStatus.NEW.value, None)
    # The card offers "take it" again.
    await emulator.wait_for(lambda: any("claim" in d for _t, d in emulator.buttons(card)))


async def test_the_day_long_nudge_goes_to_the_group_when_its_coordinator_left(
    family: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    await taken(family, emulator, app)
    await family.say("Вы здесь?")
    await settled(app)
    emulator.leave(GROUP, VERA)
    await audited(app, "member_left")
    assert app.followups is not None
    assert await app.followups.run_once(utcnow() + timedelta(hours=25)) == 1
    [nudge] = [m.text or "" for m in emulator.sent_to(GROUP) if "ждёт ответа" in (m.text or "")]
    assert "Вера" not in nudge and "больше нет в этом чате" in nudge, nudge
