"""One outbound pacer for every sender, with priorities.

The platforms' limits are budgets: Telegram about 30 messages a second per bot, about one a second per
private chat and 20 a minute per group; VK 20 calls a second per community token. The budgets are
kept by pyrate-limiter's buckets behind the small ``Budget`` interface (in memory for one process; a
Redis-backed bucket shares them between replicas), and the time is ours: every spend carries the
pacer's clock, so tests move time instead of sleeping. What is built here is only the order: when
several senders wait for one budget, the highest priority goes first, then the oldest.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, TypeVar

from pyrate_limiter import InMemoryBucket, Rate, RateItem

from storage.vocabulary import ChatRef, Platform


class Priority(IntEnum):
    # The answer to an SOS or words of danger: before the other replies waiting for VK's or MAX's
    # budget (in a burst, a hundred other families' first screens).
    EMERGENCY = -1
    REPLY = 0  # a reply to a person who just wrote
    DESK = 1  # coordinators' cards, relay copies, desk notices
    SCHEDULED = 2  # follow-ups, reminders, SLA alerts
    BULK = 3  # broadcasts


class Pacer(Protocol):
    async def wait(
        self,
        chat: ChatRef,
        priority: Priority,
        *,
        paid: bool = False,
        count: int = 1,
        person: str | None = None,
    ) -> None:
        """Return when a message to ``chat`` may go now; it is counted as sent. ``paid``: it goes as
        Telegram's paid broadcast (an urgent announcement), with a budget of its own. ``count``: one
        call that reaches that many people (VK's peer_ids) spends the broadcast budget for each.
        ``person``: whose reply it is ("vk:123"), so that ``hurry`` can find it."""
        ...

    def hurry(self, person: str) -> None:
        """An SOS of ``person`` waits behind their turns in hand: their replies, waiting for the budget
        now or in the next ``HURRY_SECONDS``, go first (as EMERGENCY), so the SOS's own turn can start."""
        ...


@dataclass(frozen=True)
class Limit:
    """``count`` sends in any ``seconds``."""

    count: int
    seconds: float


class Budget(Protocol):
    """Where spent budget is kept. One process: memory; several replicas: a shared store (Redis)."""

    async def spend(self, key: str, limit: Limit, now: float) -> float:
        """Spend one unit of ``key`` at ``now``: 0 when spent, otherwise seconds until it may be."""
        ...


class MemoryBudget:
    """pyrate-limiter's in-memory buckets, one per key; idle ones are dropped now and then."""

    def __init__(self, *, sweep_every: int = 1000) -> None:
        self._buckets: dict[str, InMemoryBucket] = {}
        self._sweep_every = sweep_every  # spends between sweeps of idle buckets (a private chat's, say)
        self._spends = 0

    async def spend(self, key: str, limit: Limit, now: float) -> float:
        ms = int(now * 1000)
        self._spends += 1
        if self._spends % self._sweep_every == 0:
            await self._sweep(ms)
        bucket = self._buckets.get(key)
        if bucket is None:
            rate = Rate(limit.count, max(1, int(limit.seconds * 1000)))
            bucket = self._buckets[key] = InMemoryBucket([rate])
        item = RateItem(key, ms)
        if await _value(bucket.put(item)):
            return 0.0
        # A little over what the bucket says: its window includes its edge.
        return (max(0, await _value(bucket.waiting(item))) + 1) / 1000

    async def _sweep(self, ms: int) -> None:
        for key, bucket in list(self._buckets.items()):
            await _value(bucket.leak(ms))
            if await _value(bucket.count()) == 0:
                del self._buckets[key]


T = TypeVar("T")


async def _value(result: T | Awaitable[T]) -> T:
    """pyrate-limiter answers in place for memory buckets and with an awaitable for async ones."""
    if inspect.isawaitable(result):
        return await result
    return result


# How long a person's replies go first after an SOS of theirs came behind a turn in hand: the turns
# before the SOS (a flood's, merged a batch at a time) and the SOS's own, not the next minutes.
HURRY_SECONDS = 15.0


@dataclass(frozen=True)
class PacerSettings:
    telegram_bot: Limit = Limit(30, 1.0)
    telegram_private: Limit = Limit(1, 1.0)
    telegram_group: Limit = Limit(1, 3.0)  # 20 a minute, spread out rather than in a burst
    # VK: 20 calls a second per community token, every call, replies included; MAX: 30 requests a
    # second per bot. Kept a tenth of a second at a time (never more than 2 or 3 calls in any 0.1 s,
    # so never more than 20 or 30 in any second): with the second's 20 spent at once by a hundred
    # first screens, the window stayed shut for most of a second, and an SOS's answer or a hurried
    # turn before it (issue 13) waited for it, however high its priority; now it waits 0.1 s at most.
    vk_token: Limit = Limit(2, 0.1)
    max_token: Limit = Limit(3, 0.1)
    bulk: Limit = Limit(25, 1.0)  # BROADCAST_RATE: broadcasts, per platform, within the budgets above
    # Telegram's paid broadcast: up to 1,000 messages a second, outside the bot's 30 a second.
    paid: Limit = Limit(1000, 1.0)
    # VK: the same rate over one call's worth of seconds (100 people at 25 a second: 4 s), so the
    # time spent on a call's 100 turns is not lost from the rate (a 1 s window forgets it).
    vk_bulk: Limit | None = None


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    turn: asyncio.Event = field(compare=False, default_factory=asyncio.Event)
    person: str | None = field(compare=False, default=None)


class PriorityPacer:
    """Waits for each budget a message needs, one queue per budget, highest priority first."""

    def __init__(
        self,
        settings: PacerSettings | None = None,
        *,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings or PacerSettings()  # public: a benchmark or a test may retune it
        self._budget = budget or MemoryBudget()
        self._clock = clock
        self._sleep = sleep
        self._queues: dict[str, list[_Waiter]] = {}
        self._hurried: dict[str, float] = {}  # person -> until when their replies go as EMERGENCY
        self._seq = itertools.count()

    def budgets(self, chat: ChatRef) -> list[tuple[str, Limit]]:
        """The budgets a message spends, the chat's own first: the bot-wide one is not spent while a
        message waits seconds for a busy group."""
        s = self.settings
        # Platforms whose limit is one budget per token, whatever the chat.
        token = {Platform.VK: s.vk_token, Platform.MAX: s.max_token}.get(chat.platform)
        if token is not None:
            return [(f"{chat.platform.value}:token", token)]
        own = s.telegram_private if chat.is_private else s.telegram_group
        return [(f"{chat.key}:chat", own), ("tg:bot", s.telegram_bot)]

    async def wait(
        self,
        chat: ChatRef,
        priority: Priority,
        *,
        paid: bool = False,
        count: int = 1,
        person: str | None = None,
    ) -> None:
        if paid and chat.platform is Platform.TELEGRAM:
            # Paid for: neither BROADCAST_RATE nor the bot's 30 a second hold it back, only its own
            # 1,000 a second and the chat's own limit. Other messages keep their budgets untouched.
            await self._take("tg:paid", self.settings.paid, priority)
            await self._take(*self.budgets(chat)[0], priority)
            return
        if chat.platform is Platform.TELEGRAM and priority <= Priority.REPLY:
            # Not bulk traffic: it goes at once, but counts against the bot's budget so bulk yields.
            await self._budget.spend("tg:bot", self.settings.telegram_bot, self._clock())
            return
        if priority is Priority.BULK:
            bulk = self.settings.bulk
            if chat.platform is Platform.VK and self.settings.vk_bulk is not None:
                bulk = self.settings.vk_bulk
            for _ in range(count):  # one unit at a time: a call to 100 may exceed a second's budget
                await self._take(f"{chat.platform.value}:bulk", bulk, priority)
        if person is not None and self._hurried and self._hurried.get(person, 0.0) > self._clock():
            priority = Priority.EMERGENCY
        for key, limit in self.budgets(chat):
            await self._take(key, limit, priority, person)

    def hurry(self, person: str) -> None:
        now = self._clock()
        self._hurried = {p: until for p, until in self._hurried.items() if until > now}
        self._hurried[person] = now + HURRY_SECONDS
        for queue in self._queues.values():
            hurried = False
            for waiter in queue:
                if waiter.person == person and waiter.priority > Priority.EMERGENCY:
                    waiter.priority, hurried = int(Priority.EMERGENCY), True
            if hurried:
                heapq.heapify(queue)
                queue[0].turn.set()

    async def _take(self, key: str, limit: Limit, priority: Priority, person: str | None = None) -> None:
        queue = self._queues.setdefault(key, [])
        me = _Waiter(int(priority), next(self._seq), person=person)
        heapq.heappush(queue, me)
        try:
            while True:
                while queue[0] is not me:
                    me.turn.clear()
                    await me.turn.wait()
                delay = await self._budget.spend(key, limit, self._clock())
                if delay <= 0:
                    return
                # A higher priority that comes meanwhile takes the head; this one then waits its turn.
                await self._sleep(delay)
        finally:
            queue.remove(me)
            heapq.heapify(queue)
            if queue:
                queue[0].turn.set()
            else:
                del self._queues[key]


class NoPacer:
    """No waiting: for tests and for transports that pace themselves."""

    async def wait(
        self,
        chat: ChatRef,
        priority: Priority,
        *,
        paid: bool = False,
        count: int = 1,
        person: str | None = None,
    ) -> None:
        return None

    def hurry(self, person: str) -> None:
        return None
