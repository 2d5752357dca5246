"""The platforms' rate limits, enforced by the emulators when asked (off by default).

Telegram answers a bot that sends more than about 30 messages a second with 429 and ``retry_after``;
VK answers a community token's 21st call within a second with error 6. A benchmark turns this on to
show that the bot stays inside them; everything else runs without it, so a test is never slowed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

TELEGRAM_MESSAGES_PER_SECOND = 30
VK_CALLS_PER_SECOND = 20


@dataclass
class SlidingWindow:
    """At most ``count`` admissions in any ``seconds``; refusals are counted, never admitted."""

    count: int
    seconds: float = 1.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._times: deque[float] = deque()
        self.admitted = 0
        self.refused = 0

    def admit(self) -> float:
        """0 when admitted now; otherwise the seconds until one more would be."""
        now = self.clock()
        while self._times and self._times[0] <= now - self.seconds:
            self._times.popleft()
        if len(self._times) >= self.count:
            self.refused += 1
            return self._times[0] + self.seconds - now
        self._times.append(now)
        self.admitted += 1
        return 0.0
