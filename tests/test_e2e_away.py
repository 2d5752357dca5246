"""/away and /back: while a coordinator is away, the day-long nudge about their request goes to the
whole group and the admins instead of to them; back, it comes to them again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.models import Ticket, utcnow
from tests.desk_support import actions, bot_messages, group_says, request
from tests.e2e import GROUP, HandledUpdates, Parent, cards, introduce, press, settled, start_app
from tests.test_e2e_journeys import agree

OLGA, ADMIN = 201, 900


@pytest.fixture
async def sla_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}", admin_ids=f"tg:{ADMIN}")
    yield app
    await app.stop()


def said_in(emulator: TelegramEmulator, chat_id: int, words: str) -> list[str]:
    return [m.text or "" for m in emulator.sent_to(chat_id) if words in (m.text or "")]


async def test_the_nudge_goes_to_the_group_and_admins_while_the_assignee_is_away(
    emulator: TelegramEmulator, sla_app: Application
) -> None:
    family = Parent(emulator=emulator, handled=HandledUpdates(sla_app), user_id=6601)
    introduce(emulator, OLGA, "Ольга")
    await agree(family)
    await request(family)
    await emulator.wait_for(lambda: bool(cards(emulator)))
    await settled(sla_app)
    [card] = cards(emulator)
    await press(emulator, OLGA, card, emulator.button_data(card, "Беру"))
    await family.say("Вы здесь?")
    await settled(sla_app)

    [reply] = await group_says(emulator, OLGA, "/away")
    assert "отсутствующ" in (reply.text or "") and "/back" in (reply.text or "")
    assert "away" in await actions(sla_app)
    sla = sla_app.sla
    assert sla is not None
    start = utcnow()
    sla._clock = lambda: start + timedelta(hours=25)
    assert await sla.tick() == 2, "the group and the one admin"
    [to_group] = said_in(emulator, GROUP, "ждёт ответа")
    assert "Ольга сейчас отсутствует" in to_group and "Кто может ответить?" in to_group
    assert said_in(emulator, ADMIN, "Ольга сейчас отсутствует")
    assert not said_in(emulator, GROUP, "Ольга, семья по заявке"), "not addressed to someone who is off"
    assert await sla.tick() == 0, "once"

    [reply] = await group_says(emulator, OLGA, "/back")
    assert "С возвращением" in (reply.text or "")
    await family.say("Ответьте, пожалуйста")
    await settled(sla_app)
    assert sla_app.db is not None
    async with sla_app.db.uow() as uow:  # she wrote after the first nudge, on the tick's clock
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
        ticket.family_wrote_at = start + timedelta(hours=25, minutes=1)
    admin_before = len(emulator.sent_to(ADMIN))
    sla._clock = lambda: start + timedelta(hours=50)
    assert await sla.tick() == 1
    assert said_in(emulator, GROUP, "Ольга, семья по заявке")
    assert len(emulator.sent_to(ADMIN)) == admin_before, "the admins are not bothered when she is back"
    assert all(m.chat_id == GROUP for m in bot_messages(emulator))
