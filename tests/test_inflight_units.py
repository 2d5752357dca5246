"""The bound on updates in flight and the per-person tickets, on their own."""

from __future__ import annotations

import asyncio

from handlers.inflight import Bounded, Work
from handlers.locks import TICKET, Tickets, in_turn


async def test_at_most_the_limit_runs_and_the_rest_starts_in_order() -> None:
    queue = Bounded("test", limit=3)
    gate = asyncio.Event()
    started: list[int] = []
    running = peak = 0

    def work(n: int) -> Work:
        async def run() -> None:
            nonlocal running, peak
            started.append(n)
            running += 1
            peak = max(peak, running)
            await gate.wait()
            running -= 1

        return run

    for n in range(10):
        assert queue.submit(n, work(n))
    assert not queue.submit(4, work(4)), "an update already waiting is not taken twice"
    await asyncio.sleep(0)
    assert (queue.running, queue.waiting, started) == (3, 7, [0, 1, 2])
    room = asyncio.create_task(queue.room())
    await asyncio.sleep(0.01)
    assert not room.done(), "a poll loop waits while the bound is full"

    gate.set()
    await room
    await queue.finish()
    assert started == list(range(10))
    assert peak == queue.peak == 3


async def test_a_stop_leaves_what_waits_and_finishes_what_runs() -> None:
    queue = Bounded("test", limit=2)
    gate = asyncio.Event()
    done: list[int] = []

    def work(n: int) -> Work:
        async def run() -> None:
            await gate.wait()
            done.append(n)

        return run

    for n in range(5):
        queue.submit(n, work(n))
    await asyncio.sleep(0)
    queue.stop()
    await asyncio.wait_for(queue.room(), 1)  # a stopped queue holds no poll loop
    assert not queue.submit(9, work(9)), "nothing more is taken after a stop"
    gate.set()
    await queue.finish()
    assert done == [0, 1], "the rest stays in the inbox for the next start"


async def test_a_failing_update_does_not_stop_the_others() -> None:
    queue = Bounded("test", limit=1)
    done = asyncio.Event()

    async def boom() -> None:
        raise RuntimeError("a bug")

    async def fine() -> None:
        done.set()

    queue.submit("a", boom)
    queue.submit("b", fine)
    await asyncio.wait_for(done.wait(), 1)
    await queue.finish()
    assert queue.running == 0


async def test_a_persons_updates_pass_in_the_order_handed_on_whatever_they_awaited() -> None:
    tickets = Tickets()
    passed: list[str] = []

    async def update(name: str, person: str, before: float) -> None:
        ticket = tickets.take(person)  # in the order handed on

        async def run() -> None:
            TICKET.set(ticket)
            try:
                await asyncio.sleep(before)  # a write before the turn: the first is the slowest
                await in_turn(person)
                passed.append(name)
            finally:
                tickets.done(ticket)

        await asyncio.create_task(run())

    await asyncio.gather(
        update("a1", "vk:1", 0.05),
        update("a2", "vk:1", 0.0),
        update("b1", "vk:2", 0.0),
        update("a3", "vk:1", 0.01),
    )
    assert passed == ["b1", "a1", "a2", "a3"], "another person is not held up; vk:1 keeps its order"


async def test_an_update_that_never_reached_a_turn_holds_none_up() -> None:
    tickets = Tickets()
    first, second = tickets.take("max:5"), tickets.take("max:5")
    tickets.done(first)  # a group message, or a failure before the turn
    TICKET.set(second)
    await asyncio.wait_for(in_turn("max:5"), 1)
    await asyncio.wait_for(in_turn("max:6"), 1)  # another person's key: no wait


async def test_per_person_a_persons_further_updates_join_without_a_slot() -> None:
    """Telegram's lanes let a sender's waiting updates in together: they must run at once (the flood
    gate merges them) and take one slot, while another person's update waits for a free one."""
    queue = Bounded("test", limit=2, per_person=True)
    gate = asyncio.Event()
    started: list[str] = []

    def work(name: str) -> Work:
        return held(started, gate, name)

    for n in range(5):
        assert queue.submit(f"flood{n}", work(f"flood{n}"), "tg:1")
    assert queue.submit("a", work("a"), "tg:2")
    assert queue.submit("b", work("b"), "tg:3")
    assert queue.submit("flood5", work("flood5"), "tg:1")
    await asyncio.sleep(0)
    # The flooder's five and Anna take the two slots; Boris waits, and the flooder's sixth, behind him
    # in line, waits with him (the line keeps its order).
    assert started == ["flood0", "flood1", "flood2", "flood3", "flood4", "a"]
    assert (queue.slots(), queue.running, queue.waiting) == (2, 6, 2)
    gate.set()
    await settled(queue)
    assert started[-2:] == ["b", "flood5"] and queue.peak == 2
    await queue.finish()


async def test_with_a_cap_on_tasks_a_persons_updates_join_their_slot_only_within_it() -> None:
    """VK's and MAX's bound on handlers at once holds whoever the updates are from: a lane let in
    whole waits for tasks to end rather than pass it (tests/test_inflight_burst.py)."""
    queue = Bounded("test", limit=2, per_person=True, tasks=3)
    gate = asyncio.Event()
    started: list[str] = []

    def work(name: str) -> Work:
        return held(started, gate, name)

    for n in range(4):
        assert queue.submit(f"flood{n}", work(f"flood{n}"), "vk:1")
    assert queue.submit("a", work("a"), "vk:2")
    await asyncio.sleep(0)
    assert started == ["flood0", "flood1", "flood2"], "three tasks at most; the rest waits in order"
    assert (queue.slots(), queue.running, queue.waiting) == (1, 3, 2)
    gate.set()
    await settled(queue)
    await queue.finish()
    assert started == ["flood0", "flood1", "flood2", "flood3", "a"] and queue.peak == 2


def held(started: list[str], gate: asyncio.Event, name: str) -> Work:
    """Work that says it started, then waits for ``gate``."""

    async def run() -> None:
        started.append(name)
        await gate.wait()

    return run


async def settled(queue: Bounded) -> None:
    """Until nothing runs or waits in ``queue``."""
    for _ in range(100):
        if not (queue.running or queue.waiting):
            return
        await asyncio.sleep(0.01)
