"""Units of work get the pool's connections in the order they asked (storage/writer.py ``Gate``).

SQLAlchemy's asyncio pool let a newcomer take a connection just given back before those already
waiting, and a waiter that lost it queued again at the end: in a burst some families waited until
nearly everyone else was done (the flood row's p99). An intake's keep of a batch and an emergency's
turn go ahead of the line. On a SQLite file families' turns have a connection of their own
(storage/quick.py), one turn at a time, in the same order; the pool's other places are the rest's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from handlers.inbox import Inbox
from storage.db import POSTGRES_POOL, SQLITE_POOL
from storage.uow import Database, in_unit_of_work
from storage.vocabulary import Platform
from storage.writer import Gate
from tests.fakes import units_of_work


async def test_units_of_work_get_connections_in_the_order_they_asked(db: Database) -> None:
    """New ones keep arriving while others wait (a burst): nobody is overtaken. Without the gate,
    SQLAlchemy's pool let about half of these 200 be overtaken."""
    await _open_the_pool(db)
    asked: list[int] = []
    entered: list[int] = []

    async def family(n: int) -> None:
        asked.append(n)
        async with db.uow(quick=True) as uow:
            entered.append(n)
            await uow.dialogs.save(f"tg:{n}", "menu", {"n": n})
            await asyncio.sleep(0)

    tasks: list[asyncio.Task[None]] = []
    async with asyncio.timeout(60):
        for wave in range(20):
            tasks += [asyncio.create_task(family(wave * 10 + i)) for i in range(10)]
            await asyncio.sleep(0)  # the next ones arrive while these are in line
        await asyncio.gather(*tasks)
    assert len(asked) == 200
    overtaken = [n for i, n in enumerate(entered) if n != asked[i]]
    assert entered == asked, f"{len(overtaken)} of 200 were overtaken"
    async with db.uow() as uow:
        assert await uow.dialogs.load("tg:199") == ("menu", {"n": 199})


def _lane(db: Database) -> bool:
    """Families' turns have a connection of their own (a SQLite file: storage/quick.py)."""
    return db.engine.dialect.name == "sqlite"


def _pool_size(db: Database) -> int:
    """The places of units of work that are not a family's turn (or of every one: PostgreSQL)."""
    return SQLITE_POOL - 1 if _lane(db) else POSTGRES_POOL


async def _open_the_pool(db: Database) -> None:
    """Every connection of the pool opened (opening one takes a while: whoever finds one open
    enters before those still opening theirs)."""
    async with _every_connection_held(db):
        pass


@asynccontextmanager
async def _every_connection_held(db: Database, *, lane: bool = True) -> AsyncIterator[asyncio.Event]:
    """Inside: each of the pool's connections is held by a unit of work, and (``lane``) the families'
    own by a turn; they end at the exit, or the pool's holders when the event yielded is set."""
    size = _pool_size(db)
    pool_go, lane_go, held = asyncio.Event(), asyncio.Event(), asyncio.Event()
    holding: list[int] = []
    holds_lane = lane and _lane(db)

    async def hold(n: int, *, quick: bool = False) -> None:
        async with db.uow(quick=quick) as uow:
            await uow.dialogs.load(f"tg:{n}")
            holding.append(n)
            if len(holding) == size + holds_lane:
                held.set()
            await (lane_go if quick else pool_go).wait()

    holders = [asyncio.create_task(hold(n)) for n in range(size)]
    if holds_lane:
        holders.append(asyncio.create_task(hold(size, quick=True)))
    try:
        async with asyncio.timeout(30):
            await held.wait()
        yield pool_go
    finally:
        pool_go.set()
        lane_go.set()
        async with asyncio.timeout(30):
            await asyncio.gather(*holders)


async def test_first_ones_go_ahead_of_the_line(db: Database) -> None:
    """With every connection taken, a unit of work asked ``first`` after ten turns gets the next
    free connection; the turns keep their order behind it."""
    entered: list[str] = []

    async def turn(name: str, *, first: bool = False) -> None:
        async with db.uow(quick=True, first=first) as uow:
            entered.append(name)
            await uow.dialogs.save(f"tg:{name}", "menu", {})

    async with _every_connection_held(db):
        waiting = [asyncio.create_task(turn(f"t{n}")) for n in range(10)]
        await asyncio.sleep(0.05)
        keep = asyncio.create_task(turn("keep", first=True))
        await asyncio.sleep(0.05)
        assert entered == []
    async with asyncio.timeout(30):
        await asyncio.gather(*waiting, keep)
    assert entered == ["keep", *(f"t{n}" for n in range(10))]


async def test_a_cancelled_waiter_loses_no_place() -> None:
    gate = Gate(1, 5.0)
    await gate.enter()
    # Cancelled while in line: it leaves the line.
    gone = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    gone.cancel()
    # Handed the place and cancelled before it ran: the place goes on to the next in line.
    handed = asyncio.create_task(gate.enter())
    after = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    gate.leave()  # hands the place to ``handed``
    handed.cancel()
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await gone
        with pytest.raises(asyncio.CancelledError):
            await handed
        await after  # it has the place
    gate.leave()
    async with asyncio.timeout(1):
        await gate.enter()  # free again: nobody took two places, nobody left one behind
    blocked = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.01)
    assert not blocked.done(), "one place: a second unit of work waits"
    blocked.cancel()


async def test_a_place_freed_between_a_cancel_and_its_delivery_goes_to_the_next() -> None:
    """The waiter's place is cancelled at once, its task learns it a step later: a place freed in
    between passes it over (and its task leaves the line without a fuss)."""
    gate = Gate(1, 5.0)
    await gate.enter()
    gone = asyncio.create_task(gate.enter())
    after = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    gone.cancel()
    gate.leave()  # before ``gone`` runs again
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await gone
        await after
    gate.leave()
    async with asyncio.timeout(1):
        await gate.enter()


async def test_waiting_too_long_fails_as_the_pool_would() -> None:
    gate = Gate(1, 0.05)
    await gate.enter()
    with pytest.raises(PoolTimeoutError, match="no connection was free"):
        await gate.enter()
    gate.leave()
    await gate.enter()  # the timed-out one took no place with it


async def test_an_intakes_keep_goes_ahead_of_the_turns_in_line(db: Database) -> None:
    """A poll loop asks for more only once its batch is kept: the keep does not wait behind the
    turns already in line for a connection (the flood row: the next getUpdates waited 94 ms)."""

    async def turn(n: int) -> None:
        async with db.uow(quick=True) as uow:
            await uow.dialogs.save(f"tg:{n}", "menu", {})

    inbox = Inbox(db)
    holders = _pool_size(db) + _lane(db)
    with units_of_work(db) as entered:
        async with _every_connection_held(db) as pool_go:
            waiting = [asyncio.create_task(turn(n)) for n in range(10)]
            await asyncio.sleep(0.05)
            raw = {"update_id": 7, "message": {}}
            keep = asyncio.create_task(inbox.accept(Platform.TELEGRAM, [(7, raw)]))
            await asyncio.sleep(0.05)
            assert len(entered) == holders
            if _lane(db):
                # The turns wait for their own connection, the keep for one of the pool's: it goes in
                # as soon as one is free, while the family's turn in hand still holds theirs.
                pool_go.set()
                async with asyncio.timeout(30):
                    await keep
                assert entered[holders:] == [(False, True)]
        async with asyncio.timeout(30):
            await asyncio.gather(*waiting, keep)
    # The keep (not quick, first) entered before the ten turns (quick) that asked before it.
    assert entered[holders:] == [(False, True)] + [(True, False)] * 10
    assert [update_id for update_id, _raw in await inbox.pending(Platform.TELEGRAM)] == [7]


async def test_a_task_started_inside_a_unit_of_work_is_nested_only_while_that_one_is_open(
    db: Database,
) -> None:
    """A turn wakes the delivery job from inside its unit of work: that task's own units of work
    queue at the gate once the turn's has ended (they had taken connections without a place for
    the task's whole life, and a place holder then found none in the pool)."""
    seen: list[tuple[str, bool]] = []
    later = asyncio.Event()

    async def look(when: str) -> None:
        seen.append((when, in_unit_of_work()))

    async def afterwards() -> None:
        await later.wait()
        await look("after")
        async with db.uow() as uow:
            await look("in its own")
            await uow.dialogs.load("tg:1")

    async with db.uow() as uow:
        await uow.dialogs.load("tg:1")
        woken = asyncio.create_task(afterwards())
        await asyncio.create_task(look("while open"))
        async with db.uow() as nested:
            await nested.dialogs.load("tg:2")
            await look("nested")
        await look("after the nested one")
    await look("outside")
    later.set()
    async with asyncio.timeout(10):
        await woken
    assert seen == [
        ("while open", True),
        ("nested", True),
        ("after the nested one", True),
        ("outside", False),
        ("after", False),
        ("in its own", True),
    ]
