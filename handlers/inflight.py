"""Work in progress that a shutdown must let finish: updates already taken from the platform."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, timeout: float) -> int:  # noqa: ASYNC109 - a deadline for asyncio.wait, not a cancel scope
        """Wait for tracked work (not the caller's own); return how many were still running."""
        pending = {task for task in self._tasks if task is not asyncio.current_task()}
        if not pending:
            return 0
        log.info("waiting for %d updates being handled", len(pending))
        _done, still = await asyncio.wait(pending, timeout=timeout)
        if still:
            log.error("%d updates were still being handled at shutdown", len(still))
        return len(still)
