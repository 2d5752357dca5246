"""What replicas share through Redis (REDIS_URL): the per-person lock and the platforms' rate budgets.

Dialog state and every exactly-once decision stay in the database; Redis only keeps two replicas
off the same person at once and makes them spend one budget per platform, not one each.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

from pyrate_limiter import Rate, RateItem, RedisBucket
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from handlers.pacer import Limit

log = logging.getLogger(__name__)

# A turn takes milliseconds; a replica that dies holding a person's lock frees it after this.
PERSON_LOCK_TIMEOUT = 20.0
PERSON_LOCK_WAIT = 25.0  # past it the update fails and stays in the inbox, taken over later


def connect(url: str) -> Redis:
    return Redis.from_url(url)


async def wait_for_redis(client: Redis, *, first_delay: float = 1.0, max_delay: float = 60.0) -> None:
    """Redis not up yet is waited for like the database: one line a try, never the URL."""
    delay = first_delay
    while True:
        try:
            await client.ping()
            return
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("Redis cannot be reached yet (%s); retrying in %.0fs", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


def person_lock(client: Redis) -> Any:
    """``key -> async context manager``: one replica at a time for a person."""

    def lock(key: str) -> AbstractAsyncContextManager[object]:
        return client.lock(
            f"bot:person:{key}", timeout=PERSON_LOCK_TIMEOUT, blocking_timeout=PERSON_LOCK_WAIT
        )

    return lock


class RedisBudget:
    """The pacer's budgets in Redis (pyrate-limiter's Redis bucket): every replica spends the same.
    Time is wall-clock milliseconds, the same on every replica's host (NTP)."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._buckets: dict[str, RedisBucket] = {}

    async def spend(self, key: str, limit: Limit, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            rate = Rate(limit.count, max(1, int(limit.seconds * 1000)))
            bucket = await RedisBucket.init([rate], self._client, f"bot:pacer:{key}")
            self._buckets[key] = bucket
        item = RateItem(key, int(now * 1000))
        if await _value(bucket.put(item)):
            return 0.0
        waited: int = await _value(bucket.waiting(item))
        return (max(0, waited) + 1) / 1000


async def _value(result: Any) -> Any:
    """pyrate-limiter answers some calls in place and others with an awaitable."""
    return await result if inspect.isawaitable(result) else result
