"""Background work, one shape: claim due rows with a conditional UPDATE, send outside any transaction,
record the result in a new short one.

Every job is a ``Job``; the ``Background`` runner is the one place that runs them: a tick runs rounds
of a job until it finds nothing to do, is tracked so a shutdown waits for it, and logs its failure
instead of losing it. The ticking itself (APScheduler) lives in ``bot/``; what is due is decided from
our tables, so a tick that runs twice, or on two replicas, does each thing once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime

from handlers.inflight import InFlight
from storage.models import utcnow

log = logging.getLogger(__name__)


class Job(ABC):
    """One kind of background work. ``run_once`` does one round and says how much it did."""

    name: str
    interval: float  # seconds between ticks
    delay: float = 0.0  # seconds before the first tick

    def __init__(self) -> None:
        self._halted = False
        self._wake: Callable[[], None] | None = None

    @abstractmethod
    async def run_once(self, now: datetime) -> int:
        """One round at ``now``; return how many things it did (0: nothing is due)."""

    def wake(self) -> None:
        """Something new is due: look now rather than at the next tick."""
        if self._wake is not None:
            self._wake()

    def bind(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def halt(self) -> None:
        """Shutting down: finish the item in hand and leave the rest in the tables."""
        self._halted = True

    @property
    def halted(self) -> bool:
        return self._halted


class Background:
    """Runs each job's ticks, one at a time per job, and waits for them on shutdown."""

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        in_flight: InFlight | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._jobs = {job.name: job for job in jobs}
        self._in_flight = in_flight or InFlight()
        self._clock = clock
        self._running: dict[str, asyncio.Task[object]] = {}
        self._again: set[str] = set()  # woken while running: one more round before the tick ends
        self._woken: set[asyncio.Task[int]] = set()
        self._stopping = False
        for job in jobs:
            job.bind(functools.partial(self.wake, job.name))

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    async def tick(self, name: str, *, woken: bool = False) -> int:
        """Rounds of one job until it finds nothing to do; never raises (failures are logged)."""
        job = self._jobs[name]
        task = asyncio.current_task()
        if self._stopping or task is None:
            return 0
        if name in self._running:
            # One round at a time per job (two would race for the same rows); a wake-up is not lost:
            # the running tick looks once more.
            if woken:
                self._again.add(name)
            return 0
        self._running[name] = task
        try:
            async with self._in_flight.track():
                return await self._rounds(job)
        finally:
            del self._running[name]

    async def _rounds(self, job: Job) -> int:
        total = 0
        while not self._stopping:
            self._again.discard(job.name)
            try:
                done = await job.run_once(self._clock())
            except Exception:
                log.exception("background job %s failed; it runs again at its next tick", job.name)
                return total
            total += done
            if not done and job.name not in self._again:
                break
        return total

    def wake(self, name: str) -> None:
        """Tick a job now; the task is kept, its failures logged by ``tick``, and awaited by ``stop``."""
        if self._stopping:
            return
        if name in self._running:
            self._again.add(name)
            return
        task = asyncio.get_running_loop().create_task(self.tick(name, woken=True), name=f"wake-{name}")
        self._woken.add(task)
        task.add_done_callback(self._woken.discard)

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - a deadline for asyncio.wait
        """No new rounds; jobs finish the item in hand, and running ticks are awaited."""
        self._stopping = True
        for job in self._jobs.values():
            job.halt()
        current = asyncio.current_task()
        pending = {t for t in (*self._running.values(), *self._woken) if t is not current}
        if not pending:
            return
        _done, still = await asyncio.wait(pending, timeout=timeout)
        if still:
            log.error("%d background ticks were still running at shutdown", len(still))
