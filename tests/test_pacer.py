"""The one outbound pacer: platform budgets, and priorities when several senders wait for one."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

from handlers.pacer import HURRY_SECONDS, Limit, MemoryBudget, PacerSettings, Priority, PriorityPacer
from storage.vocabulary import ChatRef, Platform
from tests.fakes import FakeTime

GROUP = ChatRef.parse("tg:-100123")
OTHER_GROUP = ChatRef.parse("tg:-100456")
PERSON = ChatRef.parse("tg:42")
VK_PERSON = ChatRef.parse("vk:42")


def pacer(time: FakeTime, settings: PacerSettings | None = None) -> PriorityPacer:
    return PriorityPacer(settings, clock=time.clock, sleep=time.sleep)


async def sent_at(p: PriorityPacer, time: FakeTime, chat: ChatRef, priority: Priority, n: int) -> list[float]:
    times = []
    for _ in range(n):
        await p.wait(chat, priority)
        times.append(time.now)
    return times


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def spend_the_window(p: PriorityPacer, priority: Priority) -> None:
    """Spend what VK's budget lets go at once: whoever comes next waits for time to move."""
    for _ in range(p.settings.vk_token.count):
        await p.wait(VK_PERSON, priority)


async def until_all_went(time: FakeTime, tasks: Sequence[asyncio.Task[None]]) -> None:
    """Time moves a window at a time until every sender waiting went."""
    for _ in range(100):
        if all(task.done() for task in tasks):
            break
        time.move(0.11)
        for _ in range(10):
            await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*tasks), 1)


async def test_bulk_traffic_keeps_telegrams_per_chat_limits() -> None:
    time = FakeTime(auto=True)
    p = pacer(time)
    group = await sent_at(p, time, GROUP, Priority.DESK, 4)
    assert all(gap >= 3.0 for gap in gaps(group)), "20 a minute in a group"
    private = await sent_at(p, time, PERSON, Priority.SCHEDULED, 3)
    assert all(gap >= 1.0 for gap in gaps(private)), "about one a second in a private chat"
    assert max(gaps(private)) < 2.0, "but not slower than that"


async def test_a_reply_goes_at_once_and_counts_against_the_bot() -> None:
    time = FakeTime(auto=True)
    p = pacer(time)
    await p.wait(PERSON, Priority.DESK)
    start = time.now
    for _ in range(30):
        await p.wait(PERSON, Priority.REPLY)
    assert time.now == start, "a reply to a person who just wrote never waits"
    await p.wait(OTHER_GROUP, Priority.BULK)
    assert time.now > start, "the bot's 30 a second are spent: bulk traffic yields to the replies"


async def test_higher_priority_goes_first_when_several_wait() -> None:
    time = FakeTime()
    p = pacer(time)
    await p.wait(GROUP, Priority.DESK)  # the group's budget is spent for 3 s
    order: list[Priority] = []

    async def send(priority: Priority) -> None:
        await p.wait(GROUP, priority)
        order.append(priority)

    tasks = []
    for priority in (Priority.BULK, Priority.SCHEDULED, Priority.DESK):
        tasks.append(asyncio.create_task(send(priority)))
        await asyncio.sleep(0)
    for _ in range(3):
        for _ in range(5):
            await asyncio.sleep(0)
        time.move(3.5)
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert order == [Priority.DESK, Priority.SCHEDULED, Priority.BULK]


async def test_vk_counts_every_call_replies_first() -> None:
    time = FakeTime()
    p = pacer(time)
    await spend_the_window(p, Priority.DESK)
    order: list[Priority] = []

    async def send(priority: Priority) -> None:
        await p.wait(VK_PERSON, priority)
        order.append(priority)

    bulk = asyncio.create_task(send(Priority.BULK))
    await asyncio.sleep(0)
    reply = asyncio.create_task(send(Priority.REPLY))
    for _ in range(5):
        await asyncio.sleep(0)
    assert order == [], "VK's calls per community token, replies included"
    await until_all_went(time, [bulk, reply])
    assert order == [Priority.REPLY, Priority.BULK]


async def test_a_cancelled_sender_leaves_its_place() -> None:
    time = FakeTime()
    p = pacer(time)
    await p.wait(GROUP, Priority.DESK)
    first = asyncio.create_task(p.wait(GROUP, Priority.DESK))
    await asyncio.sleep(0)
    second = asyncio.create_task(p.wait(GROUP, Priority.BULK))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    time.move(3.5)
    await asyncio.wait_for(second, 1)
    assert p._queues == {}, "no queue is kept for a budget nobody waits for"


async def test_settings_are_the_budgets() -> None:
    time = FakeTime(auto=True)
    p = pacer(time, PacerSettings(telegram_group=Limit(1, 0.05)))
    group = await sent_at(p, time, GROUP, Priority.DESK, 3)
    assert all(0.05 <= gap < 0.1 for gap in gaps(group))
    assert [key for key, _ in p.budgets(GROUP)] == ["tg:-100123:chat", "tg:bot"]
    assert [key for key, _ in p.budgets(ChatRef(Platform.VK, 2_000_000_001, GROUP.kind))] == ["vk:token"]


async def test_idle_budgets_are_forgotten() -> None:
    budget = MemoryBudget(sweep_every=10)
    for i in range(8):
        assert await budget.spend(f"tg:{i}:chat", Limit(1, 1.0), 100.0) == 0
    assert await budget.spend("tg:1:chat", Limit(1, 1.0), 100.5) > 0, "spent a moment ago"
    assert len(budget._buckets) == 8
    await budget.spend("tg:new:chat", Limit(1, 1.0), 200.0)  # the tenth spend sweeps
    assert set(budget._buckets) == {"tg:new:chat"}


async def test_on_vk_the_emergency_numbers_go_before_the_other_replies_waiting() -> None:
    time = FakeTime()
    p = pacer(time)
    await spend_the_window(p, Priority.REPLY)
    order: list[Priority] = []

    async def send(priority: Priority) -> None:
        await p.wait(VK_PERSON, priority)
        order.append(priority)

    tasks = []
    for priority in (Priority.REPLY, Priority.REPLY, Priority.EMERGENCY):
        tasks.append(asyncio.create_task(send(priority)))
        await asyncio.sleep(0)
    await until_all_went(time, tasks)
    assert order[0] is Priority.EMERGENCY, "a burst's other first screens wait, not the SOS's numbers"
    start = time.now
    await p.wait(PERSON, Priority.EMERGENCY)
    assert time.now == start, "on Telegram it goes at once, like any reply"


async def test_vk_keeps_its_20_calls_a_second_a_tenth_at_a_time_so_an_sos_never_waits_a_second() -> None:
    """A hundred first screens queued for VK's budget: never more than VK's 20 calls in a second, and an
    SOS's answer queued among them goes at the next tenth of a second, not when the second's 20 spent at
    once free up again (issue 13: 0.5 to 1 s for each hurried turn before the SOS)."""
    time = FakeTime()
    p = pacer(time)
    went: list[tuple[float, str]] = []

    async def send(who: str, priority: Priority) -> None:
        await p.wait(VK_PERSON, priority)
        went.append((time.now, who))

    screens = [asyncio.create_task(send(f"vk:{n}", Priority.REPLY)) for n in range(100)]
    sos: asyncio.Task[None] | None = None
    for step in range(100):
        if step == 23:
            sos = asyncio.create_task(send("sos", Priority.EMERGENCY))
            queued = time.now
        time.move(0.05)
        for _ in range(10):
            await asyncio.sleep(0)
    assert sos is not None
    await until_all_went(time, [*screens, sos])
    times = [at for at, _who in went]
    assert all(later - at >= 1.0 for at, later in zip(times, times[20:], strict=False)), (
        "never 21 calls in a second"
    )
    sent = next(at for at, who in went if who == "sos")
    assert round(sent - queued, 3) <= 0.1, (
        "the SOS's answer waits for the next tenth of a second, not the second"
    )
    assert len(went) == 101


async def test_a_turn_in_hand_is_hurried_when_its_person_sent_an_sos_behind_it() -> None:
    """The SOS waits for the person's turn in hand (one turn of a person at a time); that turn's reply,
    waiting for VK's budget behind a burst's other first screens, is hurried, and so is nobody else's."""
    time = FakeTime()
    p = pacer(time)
    await spend_the_window(p, Priority.REPLY)
    order: list[str] = []

    async def send(person: str) -> None:
        await p.wait(VK_PERSON, Priority.REPLY, person=person)
        order.append(person)

    tasks = []
    for person in ("vk:1", "vk:2", "vk:3", "vk:flooder", "vk:4"):
        tasks.append(asyncio.create_task(send(person)))
        await asyncio.sleep(0)
    p.hurry("vk:flooder")
    p.hurry("vk:nobody")  # no reply of theirs waits: nothing changes
    await until_all_went(time, tasks)
    assert order[0] == "vk:flooder"
    assert order[1:] == ["vk:1", "vk:2", "vk:3", "vk:4"], "the others keep their order"


async def test_an_sos_that_comes_before_the_turn_in_hand_reaches_the_pacer_still_hurries_it() -> None:
    """A flood's SOS comes in the same batch as the texts before it: the turn in hand is still in its
    transaction when it is hurried. Its reply, and the next ones for a while, still go first."""
    time = FakeTime()
    p = pacer(time)
    await spend_the_window(p, Priority.REPLY)
    p.hurry("vk:flooder")
    order: list[str] = []

    async def send(person: str) -> None:
        await p.wait(VK_PERSON, Priority.REPLY, person=person)
        order.append(person)

    tasks = []
    for person in ("vk:1", "vk:2", "vk:flooder", "vk:3"):
        tasks.append(asyncio.create_task(send(person)))
        await asyncio.sleep(0)
    await until_all_went(time, tasks)
    assert order == ["vk:flooder", "vk:1", "vk:2", "vk:3"]
    time.move(HURRY_SECONDS)
    for person in ("vk:1", "vk:flooder"):
        tasks.append(asyncio.create_task(send(person)))
        await asyncio.sleep(0)
    await until_all_went(time, tasks)
    assert order[-2:] == ["vk:1", "vk:flooder"], "after a while, their replies queue as anyone's"
