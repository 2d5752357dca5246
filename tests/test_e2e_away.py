"""/away and /back: while a coordinator is away, the day-long nudge about their request goes to the
whole group and the admins instead of to them; back, it comes to them again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.models import utcnow
from tests.desk_support import actions, bot_messages, group_says, request
from tests.e2e import GROUP, HandledUpdates, Parent, cards, introduce, press, settled, start_app
from tests.flows_support import agree

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
    followups = sla_app.followups  # the nudge is a follow-up row, claimed by the follow-up job
    assert followups is not None
    start = utcnow()
    assert await followups.run_once(start + timedelta(hours=25)) == 1
    [to_group] = said_in(emulator, GROUP, "ждёт ответа")
    assert "Ольга сейчас отсутствует" in to_group and "Кто может ответить?" in to_group
    assert said_in(emulator, ADMIN, "Ольга сейчас отсутствует")
    assert not said_in(emulator, GROUP, "Ольга, семья по заявке"), "not addressed to someone who is off"
    assert await followups.run_once(start + timedelta(hours=26)) == 0, "once"

    [reply] = await group_says(emulator, OLGA, "/back")
    assert "С возвращением" in (reply.text or "")
    await family.say("Ответьте, пожалуйста")
    await settled(sla_app)
    admin_before = len(emulator.sent_to(ADMIN))
    assert await followups.run_once(start + timedelta(hours=50)) == 1
    assert said_in(emulator, GROUP, "Ольга, семья по заявке")
    assert len(emulator.sent_to(ADMIN)) == admin_before, "the admins are not bothered when she is back"
    assert all(m.chat_id == GROUP for m in bot_messages(emulator))
