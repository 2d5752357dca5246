"""Background work in one shape: the runner, the jobs on it, and the delivery worker's three steps."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.scheduler import create_scheduler
from dialogs.i18n import Translators
from dialogs.primitives import Screen
from handlers.background import Background, Job
from handlers.delivery import DeliverySettings, DeliveryWorker
from handlers.desk_common import follow_chat_move, send_quietly
from handlers.housekeeping import Housekeeping
from handlers.pacer import Priority
from handlers.ports import ChatMigratedError, RecipientUnreachableError
from handlers.sla import SlaSettings, SlaWatch
from storage.models import AuditEntry, ChatMessage, Outbox, utcnow
from storage.uow import Database, UnitOfWork
from storage.vocabulary import OutboxKind, Platform
from tests.fakes import FakeMessenger, RecordingPacer

GROUP = "tg:-100500"


class Counting(Job):
    """Has ``work`` things to do, one a round; fails once when asked."""

    name = "counting"
    interval = 1.0

    def __init__(self, work: int = 0, *, fail: bool = False) -> None:
        super().__init__()
        self.work, self.fail, self.rounds = work, fail, 0
        self.gate: asyncio.Event | None = None

    async def run_once(self, now: datetime) -> int:
        self.rounds += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail = False
            raise RuntimeError("boom")
        if self.work:
            self.work -= 1
            return 1
        return 0


async def test_a_tick_runs_rounds_until_nothing_is_left() -> None:
    job = Counting(work=3)
    runner = Background([job])
    assert await runner.tick("counting") == 3
    assert job.rounds == 4


async def test_a_failing_round_is_logged_and_the_next_tick_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    job = Counting(work=1, fail=True)
    runner = Background([job])
    with caplog.at_level(logging.ERROR):
        assert await runner.tick("counting") == 0
    assert "background job counting failed" in caplog.text
    assert await runner.tick("counting") == 1


async def test_a_wake_during_a_round_is_not_lost() -> None:
    job = Counting()
    job.gate = asyncio.Event()
    runner = Background([job])
    job.wake()  # the job asks through its own wake(): the delivery worker's on_outbox
    await asyncio.sleep(0)
    assert job.rounds == 1
    assert await runner.tick("counting") == 0, "one round at a time per job"
    job.wake()  # something new while the round is running: it finds nothing, but looks again
    job.gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert job.rounds == 2
    await runner.stop(timeout=5)
    assert job.rounds == 2, "then it stops: nothing more was asked"


async def test_stop_waits_for_the_running_tick_and_halts_the_jobs() -> None:
    job = Counting(work=5)
    job.gate = asyncio.Event()
    runner = Background([job])
    ticking = asyncio.create_task(runner.tick("counting"))
    await asyncio.sleep(0)
    stopping = asyncio.create_task(runner.stop(timeout=5))
    await asyncio.sleep(0)
    assert not stopping.done(), "a shutdown waits for the running tick"
    job.gate.set()
    await asyncio.wait_for(stopping, 5)
    assert await ticking == 1, "the round in hand finishes; the rest waits for the next start"
    assert job.halted
    assert await runner.tick("counting") == 0, "no ticks after stop"


async def test_the_scheduler_only_ticks_each_registered_job(db: Database) -> None:
    scheduler = create_scheduler(Background([Counting(), Housekeeping(db)]))
    assert sorted(job.id for job in scheduler.get_jobs()) == ["counting", "housekeeping"]


async def test_a_tick_due_while_the_loop_was_busy_runs_late_rather_than_never() -> None:
    """A stall of the loop past APScheduler's default grace (1 s) had skipped a job's tick until its
    next interval: the start links, 5 minutes."""
    job = Counting()
    job.interval = 300.0
    scheduler = create_scheduler(Background([job]))
    scheduler.start()
    try:
        time.sleep(1.3)  # noqa: ASYNC251 - the loop busy (a burst, a long collection) as the tick is due
        for _ in range(200):
            if job.rounds:
                break
            await asyncio.sleep(0.01)
        assert job.rounds == 1
    finally:
        scheduler.shutdown(wait=False)


async def test_the_outbox_migration_goes_both_ways(db: Database) -> None:
    from alembic import command
    from sqlalchemy import text

    from storage.db import _alembic_config

    async with db.uow() as uow:
        await uow.outbox.message("tg:1", "x", priority=Priority.SCHEDULED)
    await new_ticket(db)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(_alembic_config(c), "0004"))
    async with db.engine.connect() as conn:  # raw SQL: the model knows columns of later migrations
        kinds = (await conn.execute(text("SELECT kind FROM outbox WHERE done_at IS NULL"))).scalars().all()
    assert kinds == [OutboxKind.TICKET_CREATED], "no room for a row without ticket"
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(_alembic_config(c), "head"))
    async with db.uow() as uow:
        await uow.outbox.message("tg:1", "y", priority=Priority.SCHEDULED)
    assert len(await pending(db)) == 2


async def test_housekeeping_forgets_old_message_ids(db: Database) -> None:
    async with db.uow() as uow:
        await uow.chat_log.add("tg:1", [1, 2], from_bot=True)
    job = Housekeeping(db)
    assert await job.run_once(utcnow() + timedelta(days=3)) == 2
    async with db.uow() as uow:
        assert (await uow.session.scalars(select(ChatMessage))).all() == []


# ---- the delivery worker ----


@asynccontextmanager
async def no_transaction_while_sending(db: Database, messenger: FakeMessenger) -> AsyncIterator[list[int]]:
    """Counts open units of work; the messenger records how many were open at each send."""
    open_now = [0]
    seen: list[int] = []
    real_uow = db.uow

    @asynccontextmanager
    async def counted(*, quick: bool = False, first: bool = False) -> AsyncIterator[UnitOfWork]:
        open_now[0] += 1
        try:
            async with real_uow(quick=quick, first=first) as uow:
                yield uow
        finally:
            open_now[0] -= 1

    real_send = messenger.send

    async def send(chat_id: int, screen: Screen, **kwargs: Any) -> list[int]:
        seen.append(open_now[0])
        return await real_send(chat_id, screen, **kwargs)

    db.uow = counted  # type: ignore[method-assign]
    messenger.send = send  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        db.uow = real_uow  # type: ignore[method-assign]


def worker(
    db: Database, translators: Translators, messenger: FakeMessenger, pacer: RecordingPacer
) -> DeliveryWorker:
    return DeliveryWorker(
        db,
        messengers={Platform.TELEGRAM: messenger},
        translators=translators,
        settings=DeliverySettings(default_chat=GROUP, locale="ru", retry_base=0.0),
        pacer=pacer,
    )


async def new_ticket(db: Database) -> int:
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("tg:7001", Platform.TELEGRAM, "ru")
        ticket = await uow.tickets.create(
            person_id=person.id, category="housing", description="семья", contact_method="chat", locale="ru"
        )
        await uow.outbox.add(OutboxKind.TICKET_CREATED, ticket.id, urgent=False, payload={})
        return ticket.id


async def pending(db: Database) -> list[Outbox]:
    async with db.uow() as uow:
        return list(await uow.outbox.pending())


async def test_a_card_is_sent_outside_any_transaction_then_recorded(
    db: Database, translators: Translators
) -> None:
    messenger, pacer = FakeMessenger(), RecordingPacer()
    ticket_id = await new_ticket(db)
    async with no_transaction_while_sending(db, messenger) as open_at_send:
        assert await worker(db, translators, messenger, pacer).run_once(utcnow()) == 1
    assert open_at_send == [0]
    assert pacer.asked == [(GROUP, Priority.DESK)]
    async with db.uow() as uow:
        post = await uow.posts.card(ticket_id, GROUP)
        assert post is not None and post.message_id == messenger.next_id
    assert await pending(db) == []


async def test_a_message_about_no_ticket_is_delivered_at_its_priority(
    db: Database, translators: Translators
) -> None:
    messenger, pacer = FakeMessenger(), RecordingPacer()
    async with db.uow() as uow:
        await uow.outbox.message("tg:-100777", "<b>Объявление</b>", priority=Priority.BULK)
    assert await worker(db, translators, messenger, pacer).run_once(utcnow()) == 1
    assert [(chat, screen.text) for chat, screen in messenger.sent] == [(-100777, "<b>Объявление</b>")]
    assert pacer.asked == [("tg:-100777", Priority.BULK)]
    assert await pending(db) == []


async def test_rows_without_a_ticket_are_skipped_safely(db: Database, translators: Translators) -> None:
    messenger, pacer = FakeMessenger(), RecordingPacer()
    async with db.uow() as uow:
        await uow.outbox.add(OutboxKind.TICKET_CREATED, None, urgent=False, payload={})
        await uow.outbox.add(OutboxKind.MESSAGE, None, urgent=False, payload={"text": "no chat"})
    assert await worker(db, translators, messenger, pacer).run_once(utcnow()) == 2
    assert messenger.sent == []
    assert await pending(db) == []


async def test_a_message_to_a_chat_that_refuses_the_bot_is_given_up(
    db: Database, translators: Translators
) -> None:
    messenger, pacer = FakeMessenger(fail_with=RecipientUnreachableError()), RecordingPacer()
    async with db.uow() as uow:
        await uow.outbox.message("tg:55", "hello", priority=Priority.SCHEDULED)
    assert await worker(db, translators, messenger, pacer).run_once(utcnow()) == 0
    assert await pending(db) == []


async def test_without_a_coordinators_chat_messages_still_go(db: Database, translators: Translators) -> None:
    messenger = FakeMessenger()
    await new_ticket(db)
    async with db.uow() as uow:
        await uow.outbox.message("tg:55", "hello", priority=Priority.SCHEDULED)
    lonely = DeliveryWorker(
        db,
        messengers={Platform.TELEGRAM: messenger},
        translators=translators,
        settings=DeliverySettings(default_chat=None, locale="ru"),
        pacer=RecordingPacer(),
    )
    assert await lonely.run_once(utcnow()) == 1
    [card_row] = await pending(db)
    assert card_row.kind == OutboxKind.TICKET_CREATED and card_row.attempts == 0, (
        "untouched until a chat is set"
    )


async def test_the_lease_is_checked_before_a_row_is_marked_done(db: Database) -> None:
    ticket_id = await new_ticket(db)
    now = utcnow()
    [row] = await pending(db)
    async with db.uow() as uow:
        assert await uow.outbox.lease(row.id, now, now + timedelta(seconds=1))
        assert not await uow.outbox.lease(row.id, now, now + timedelta(seconds=1)), "taken"
    later = now + timedelta(seconds=2)
    async with db.uow() as uow:  # the lease ran out; another worker takes the row
        assert await uow.outbox.lease(row.id, later, later + timedelta(seconds=1))
        assert not await uow.outbox.finish(row.id, now + timedelta(seconds=1), later), "no longer ours"
        assert await uow.outbox.finish(row.id, later + timedelta(seconds=1), later)
    assert await pending(db) == []
    assert ticket_id


async def test_a_migrated_group_is_followed_with_the_one_policy(
    db: Database, translators: Translators
) -> None:
    new_group = -1009999
    messenger, pacer = FakeMessenger(), RecordingPacer()
    moved = [ChatMigratedError(new_group)]
    real_send = messenger.send

    async def send(chat_id: int, screen: Screen, **kwargs: Any) -> list[int]:
        if moved:
            raise moved.pop()
        return await real_send(chat_id, screen, **kwargs)

    messenger.send = send  # type: ignore[method-assign]
    ticket_id = await new_ticket(db)
    assert await worker(db, translators, messenger, pacer).run_once(utcnow()) == 1
    async with db.uow() as uow:
        assert await uow.migrations.follow(GROUP) == f"tg:{new_group}"
        assert await uow.posts.card(ticket_id, f"tg:{new_group}") is not None
        actions = (await uow.session.scalars(select(AuditEntry.action))).all()
        assert "chat_migrated" in actions
    assert [chat for chat, _ in messenger.sent] == [new_group]


async def test_a_chat_move_reposts_open_cards_through_the_outbox(db: Database) -> None:
    ticket_id = await new_ticket(db)
    async with db.uow() as uow:
        await uow.tickets.set_chat(ticket_id, GROUP)
        await uow.outbox.done((await uow.outbox.pending())[0].id, utcnow())
        assert await follow_chat_move(uow, GROUP, "tg:-100600") == [ticket_id]
    [row] = await pending(db)
    assert (row.kind, row.ticket_id, row.payload) == (
        OutboxKind.TICKET_CREATED,
        ticket_id,
        {"migrated": True},
    )


# ---- the SLA watch and desk notices take the pacer ----


async def test_sla_alerts_are_paced_as_scheduled_traffic(db: Database, translators: Translators) -> None:
    messenger, pacer = FakeMessenger(), RecordingPacer()
    ticket_id = await new_ticket(db)
    async with db.uow() as uow:
        await uow.tickets.set_chat(ticket_id, GROUP)
    sla = SlaWatch(
        db,
        messengers={Platform.TELEGRAM: messenger},
        translators=translators,
        settings=SlaSettings(claim=timedelta(hours=2), claim_urgent=timedelta(minutes=15), admins=["tg:900"]),
        pacer=pacer,
    )
    assert await sla.run_once(utcnow() + timedelta(hours=3)) == 2
    assert pacer.asked == [(GROUP, Priority.SCHEDULED), ("tg:900", Priority.SCHEDULED)]


async def test_send_quietly_waits_for_the_pacer() -> None:
    messenger, pacer = FakeMessenger(), RecordingPacer()
    assert await send_quietly({Platform.TELEGRAM: messenger}, GROUP, Screen(text="x"), pacer=pacer)
    assert pacer.asked == [(GROUP, Priority.DESK)]
    assert await send_quietly({}, "vk:1", Screen(text="x"), pacer=pacer) is False
