"""MAX faults: rate limits, server errors, blocked people, a refused token, repeats, restarts."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.config import ConfigError
from bot.max.transport import update_number
from bot.sandbox.max.emulator import MaxEmulator
from storage.models import Person
from tests.e2e import HandledUpdates
from tests.flows_support import person, reaches, state_of, tickets
from tests.max_e2e import MaxParent, start_max_app


def posts(emu: MaxEmulator) -> int:
    return sum(1 for c in emu.calls if c[0] == "POST" and c[1] == "/messages")


async def test_too_many_requests_are_waited_out(max_emu: MaxEmulator, max_parent: MaxParent) -> None:
    normal = await max_parent.say("/sos")
    max_emu.fail("POST", "/messages", 429, times=2, retry_after=0)
    before = posts(max_emu)
    replies = await max_parent.say("/sos")
    assert [m.text for m in replies] == [m.text for m in normal]  # all of it, once
    assert posts(max_emu) - before == len(replies) + 2


async def test_server_errors_are_retried(max_emu: MaxEmulator, max_parent: MaxParent) -> None:
    normal = await max_parent.say("/sos")
    max_emu.fail("POST", "/messages", 500, times=1)
    max_emu.fail("POST", "/messages", 503, times=1)
    replies = await max_parent.say("/sos")
    assert [m.text for m in replies] == [m.text for m in normal]


async def test_a_person_who_blocked_the_bot_is_marked_unreachable(
    max_emu: MaxEmulator, max_parent: MaxParent, max_app: Application
) -> None:
    await max_parent.start()
    key = f"max:{max_parent.user.user_id}"
    max_emu.blocked.add(max_parent.user.user_id)
    await max_parent.say("/sos")
    stored = await person(max_app, key)
    assert stored is not None and not stored.reachable
    max_emu.blocked.discard(max_parent.user.user_id)
    assert await max_parent.say("/sos")  # they wrote again: reachable again, and answered
    stored = await person(max_app, key)
    assert stored is not None and stored.reachable


async def test_bot_stopped_and_started_again(
    max_emu: MaxEmulator, max_parent: MaxParent, max_app: Application
) -> None:
    await max_parent.start()
    key = f"max:{max_parent.user.user_id}"
    await max_parent.user.stop()

    async def reachable() -> bool:
        stored = await person(max_app, key)
        assert stored is not None
        return stored.reachable

    for _ in range(100):
        if not await reachable():
            break
        await asyncio.sleep(0.05)
    assert not await reachable()
    max_emu.blocked.discard(max_parent.user.user_id)
    assert await max_parent.start()
    assert await reachable()


async def test_a_repeated_update_changes_nothing(max_emu: MaxEmulator, max_parent: MaxParent) -> None:
    parent = max_parent
    await parent.start()
    await parent.tap_value("yes")
    mid = await parent.user.write("/sos")
    await parent.handled.wait(update_number(mid, 0))
    count = len(parent.messages())
    await max_emu.repeat(mid)
    await parent.handled.wait(update_number(mid, 0), times=2)
    assert len(parent.messages()) == count


async def test_long_poll_failures_lose_nothing(
    max_emu: MaxEmulator, max_parent: MaxParent, max_app: Application
) -> None:
    await max_parent.start()
    await max_parent.tap_value("yes")
    max_emu.fail("GET", "/updates", 502, times=2)
    replies = await max_parent.tap_value("new")
    assert len(replies) == 1
    assert await state_of(max_app, f"max:{max_parent.user.user_id}") == "t_danger"
    assert max_app.failure() is None


async def test_a_token_max_refuses_stops_the_start(max_emu: MaxEmulator, db_url: str) -> None:
    with pytest.raises(ConfigError, match=r"^MAX_TOKEN: "):
        await start_max_app(max_emu, db_url, max_token="a-token-max-does-not-know")


async def test_restart_in_the_middle_of_a_dialog(max_emu: MaxEmulator, db_url: str) -> None:
    app = await start_max_app(max_emu, db_url)
    parent = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(8401))
    await parent.start()
    await parent.walk("yes", "new", "no", "housing", "shelter", "no", "2", "1", "5")
    await app.stop()
    # Written while the bot was down: MAX keeps it for the next /updates with our saved marker.
    await parent.user.write("Калужская область")
    app = await start_max_app(max_emu, db_url)
    try:
        parent.handled = HandledUpdates(app)
        # Fetched at the start, maybe before the wrapper above was in place: the state tells.
        await reaches(app, f"max:{parent.user.user_id}", "t_desc")
        await parent.say("Нас выселяют через неделю")
        await parent.walk("done", "chat", "send")
        [ticket] = await tickets(app)
        assert ticket.category == "housing" and ticket.children_ages == [1, 5]
        assert ticket.description == "Нас выселяют через неделю"
        assert app.db is not None
        async with app.db.uow() as uow:
            assert len((await uow.session.scalars(select(Person))).all()) == 1
        # Nothing was handled twice: the saved marker skipped what was done before the stop.
        markers = [int(c[2]["marker"]) for c in max_emu.calls if c[1] == "/updates" and "marker" in c[2]]
        assert markers and min(markers) > 0
    finally:
        await app.stop()


async def test_max_down_at_start_is_waited_for(max_emu: MaxEmulator, db_url: str) -> None:
    max_emu.fail("GET", "/me", 502, times=5)  # every try of the first check
    max_emu.fail("GET", "/updates", 503, times=2)
    app = await start_max_app(max_emu, db_url)
    try:
        parent = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(8402))
        assert "112" in parent.texts(await parent.say("/sos"))
        assert app.failure() is None
    finally:
        await app.stop()


async def test_a_token_revoked_while_running_stops_with_one_line(
    max_emu: MaxEmulator, max_app: Application
) -> None:
    max_emu.token = "a-new-token"
    await max_emu.wait_for(lambda: max_app.failure() is not None)
    assert str(max_app.failure()).startswith("MAX_TOKEN: ")
