"""A member removed from a MAX group chat (MAX's ``user_removed`` update), or added back
(``user_added``), end to end through our MAX client against the emulator: recorded per chat."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.telegram.emulator import TelegramEmulator
from tests.departure_support import active, audited
from tests.e2e import GROUP
from tests.max_e2e import start_max_app

MAX_CHAT, OLGA, ADMIN = -7000000003, 9201, 9202


@pytest.fixture
async def app(max_emu: MaxEmulator, emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_max_app(max_emu, db_url, telegram=emulator, coordinator_chat=f"tg:{GROUP}")
    yield app
    await app.stop()


def member(update_type: str, user_id: int, **extra: object) -> dict[str, object]:
    user = {"user_id": user_id, "first_name": "Ольга", "is_bot": False, "last_activity_time": 0}
    return {"update_type": update_type, "chat_id": MAX_CHAT, "user": user, "is_channel": False, **extra}


async def test_a_member_removed_from_a_max_chat_is_recorded_and_back_when_added(
    max_emu: MaxEmulator, app: Application
) -> None:
    await max_emu.push(member("user_removed", OLGA, admin_id=ADMIN))
    await audited(app, "member_left")
    assert not await active(app, f"max:{MAX_CHAT}", f"max:{OLGA}")
    await max_emu.push(member("user_added", OLGA, inviter_id=ADMIN))
    await audited(app, "member_returned")
    assert await active(app, f"max:{MAX_CHAT}", f"max:{OLGA}")
    max_emu.assert_no_spec_errors()
