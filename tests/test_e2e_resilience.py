"""Restarts, repeated updates, platform faults, concurrency: nothing a family sent is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from dialogs.dispatch import Dialogs
from storage.models import Ticket
from tests.e2e import HandledUpdates, Parent, start_app
from tests.flows_support import agree, finish, person, state_of, tickets, to_description


async def test_restart_in_the_middle_of_a_dialog(emulator: TelegramEmulator, db_url: str) -> None:
    first = await start_app(emulator, db_url)
    parent = Parent(emulator=emulator, handled=HandledUpdates(first), user_id=7001)
    await to_description(parent)
    await parent.say("Первая часть рассказа")
    await parent.send(photo=True)
    await first.stop()

    # A message written while the bot is down is not lost: the next process picks it up.
    emulator.message(parent.user_id, "Вторая часть, пока бот был выключен")
    second = await start_app(emulator, db_url)
    try:
        parent.handled = HandledUpdates(second)
        # Fetched at the start, maybe before the wrapper above was in place: the bot's answer to it
        # tells (sent once the turn is committed; the step stays the same, so its state cannot).
        await emulator.wait_for(lambda: emulator.last_sent(parent.chat_id).message_id > parent.seen)
        assert "Принято" in (emulator.last_sent(parent.chat_id).text or "")
        assert await state_of(second, f"tg:{parent.user_id}") == "t_desc"
        await finish(parent)
        [ticket] = await tickets(second)
        assert ticket.description == "Первая часть рассказа\n\nВторая часть, пока бот был выключен"
        assert len(ticket.attachments) == 1
        assert ticket.category == "legal" and ticket.answers == {"legal_topic": ["alimony"]}
    finally:
        await second.stop()


async def test_a_repeated_update_changes_nothing(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    await to_description(parent)
    update_id = emulator.message(parent.user_id, "Один раз")
    await parent.handled.wait(update_id)
    sent_before = len(emulator.calls_of("sendMessage"))
    emulator.repeat_update(update_id)
    await parent.handled.wait(update_id, times=2)
    await finish(parent)
    [ticket] = await tickets(app)
    assert ticket.description == "Один раз"
    assert len(emulator.calls_of("sendMessage")) > sent_before  # the journey went on normally

    # A repeated button press (the same callback update) does not create a second ticket.
    send_update = max(parent.handled.done)
    emulator.repeat_update(send_update)
    await parent.handled.wait(send_update, times=2)
    assert len(await tickets(app)) == 1


async def test_429_is_waited_out(parent: Parent, emulator: TelegramEmulator) -> None:
    emulator.fail_next("sendMessage", error_code=429, retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    replies = await parent.say("/start")
    assert replies, "the reply arrives after the wait"
    assert loop.time() - started >= 1.0
    failures = [
        c
        for c in emulator.calls_of("sendMessage")
        if c.params.get("chat_id") in (parent.chat_id, str(parent.chat_id))
    ]
    assert len(failures) >= 2


async def test_5xx_is_retried(parent: Parent, emulator: TelegramEmulator) -> None:
    emulator.fail_next("sendMessage", error_code=500, times=2)
    replies = await parent.say("/start")
    assert replies and emulator.buttons(replies[-1])


async def test_blocked_parent_is_marked_unreachable(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    key = f"tg:{parent.user_id}"
    await agree(parent)
    emulator.block(parent.user_id)
    await parent.say("/requests")
    stored = await person(app, key)
    assert stored is not None and stored.reachable is False
    emulator.unblock(parent.user_id)
    await parent.say("/start")
    stored = await person(app, key)
    assert stored is not None and stored.reachable is True


async def test_kicked_status_marks_unreachable(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    key = f"tg:{parent.user_id}"
    await agree(parent)
    emulator.my_chat_member(parent.user_id, "kicked")

    async def unreachable() -> bool:
        stored = await person(app, key)
        return stored is not None and not stored.reachable

    for _ in range(100):
        if await unreachable():
            break
        await asyncio.sleep(0.05)
    assert await unreachable()


async def test_an_album_arrives_whole(parent: Parent, emulator: TelegramEmulator, app: Application) -> None:
    await to_description(parent)
    ids = [
        emulator.message(
            parent.user_id, photo=True, media_group_id="album1", caption="Акт" if i == 0 else None
        )
        for i in range(5)
    ]
    for update_id in ids:
        await parent.handled.wait(update_id)
    await finish(parent)
    [ticket] = await tickets(app)
    assert len(ticket.attachments) == 5
    assert len({a["ref"] for a in ticket.attachments}) == 5
    assert ticket.description == "Акт"


async def test_many_families_at_once(
    emulator: TelegramEmulator, app: Application, handled: HandledUpdates
) -> None:
    parents = [Parent(emulator=emulator, handled=handled, user_id=9000 + i) for i in range(8)]

    async def journey(p: Parent) -> None:
        await to_description(p)
        await p.say(f"Семья {p.user_id}")
        await finish(p)

    await asyncio.gather(*(journey(p) for p in parents))
    saved = await tickets(app)
    assert sorted(t.description for t in saved) == sorted(f"Семья {p.user_id}" for p in parents)


@pytest.fixture
async def flaky_engine(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[int]]:
    failures = [1]
    original = Dialogs.step

    def step(*args, **kwargs):
        if failures[0] > 0:
            failures[0] -= 1
            raise RuntimeError("simulated bug")
        return original(*args, **kwargs)

    monkeypatch.setattr(Dialogs, "step", step)
    yield failures


async def test_a_crash_apologises_and_loses_nothing(
    parent: Parent, emulator: TelegramEmulator, app: Application, flaky_engine: list[int]
) -> None:
    replies = await parent.say("/start")
    assert "112" in parent.texts(replies), "the apology still points to the emergency number"
    assert await state_of(app, f"tg:{parent.user_id}") is None, "the failed update was rolled back"
    assert app.db is not None
    async with app.db.uow() as uow:
        assert (await uow.session.scalars(select(Ticket))).all() == []
    replies = await parent.say("/start")
    assert any(data.endswith(":yes") for _t, data in emulator.buttons(replies[-1]))


async def test_quick_messages_keep_their_order(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    """A parent who types fast: every message is kept, in the order it was written."""
    await to_description(parent)
    ids = [emulator.message(parent.user_id, f"часть {i}") for i in range(12)]
    for update_id in ids:
        await parent.handled.wait(update_id)
    await finish(parent)
    [ticket] = await tickets(app)
    assert ticket.description.split("\n\n") == [f"часть {i}" for i in range(12)]


async def test_shutdown_finishes_updates_already_taken(emulator: TelegramEmulator, db_url: str) -> None:
    app = await start_app(emulator, db_url)
    handled = HandledUpdates(app)
    emulator.fail_next("sendMessage", timeout=True, delay=1.5)  # Telegram is slow right now
    emulator.message(8001, "/start")
    await emulator.wait_for(lambda: bool(emulator.calls_of("sendMessage")))
    await app.stop()  # SIGTERM while the reply is on its way
    assert emulator.sent_to(8001), "the reply was delivered before the process stopped"
    assert handled.done
    second = await start_app(emulator, db_url)
    try:
        assert await state_of(second, "tg:8001") == "consent"
    finally:
        await second.stop()
