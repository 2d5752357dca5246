"""``python -m bot``'s loop: start the application, run until SIGINT/SIGTERM, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import platform
import signal
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.app import Application
from bot.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# The youngest generation is collected after this many new objects (Python's default: 700).
GC_YOUNG = 5000


def settle_heap() -> None:
    """After the start: what it built (modules, SQLAlchemy's and aiogram's tables, catalogs) lives as
    long as the process, so the cyclic collector stops walking it. Measured in a burst of 3,000 new
    families (bench.burst with gc.callbacks): each full collection walked that heap for ~0.7 s, a
    pause for every family waiting, 8 times in the burst; frozen, the 7 took 0.19 s in all. Young
    objects are collected less often too (700 -> 5,000 new objects: ten times fewer passes)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    log.info(
        "heap settled: %d objects of the start are left out of garbage collection", gc.get_freeze_count()
    )


# glibc's malloc arenas at most (its default: 8 a core). See ``fewer_malloc_arenas``.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number (glibc's malloc.h)


def fewer_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc keep at most ``arenas`` arenas; True when it took the setting.

    glibc gives a thread that allocates while another holds the main arena an arena of its own, and
    keeps it: SQLite's memory is allocated in aiosqlite's threads (one a pooled connection), so each
    connection's page cache and statements grew in a heap of their own, each half empty. Measured
    (bench.burst, 10,000 new people in two waves, SQLite): 258 MiB after them, 243 MiB with two
    arenas, the same CPU per update. A sysadmin's own setting (``MALLOC_ARENA_MAX``, or ``arena_max``
    in ``GLIBC_TUNABLES``) is left as it is; elsewhere than glibc nothing is done."""
    set_already = "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", "")
    if set_already or sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # pragma: no cover - a glibc without mallopt
        return False


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop, where it is installed (Linux and macOS; a dependency there), else on
    asyncio's own loop. uvloop's loop and transports are written in C: in a burst of a thousand
    families pressing /start it took 6-9% less CPU per update (bench.burst, seven alternating runs).
    Before any thread starts, malloc is told to keep fewer arenas (``fewer_malloc_arenas``)."""
    if fewer_malloc_arenas():
        log.info("malloc keeps at most %d arenas", MALLOC_ARENAS)
    try:
        import uvloop  # noqa: PLC0415 - optional: not built for Windows
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set), then stop cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = Application(settings)
    try:
        # A start may wait a long time (a database or a platform not reachable yet): a stop ends it.
        starting = asyncio.create_task(app.start(), name="start")
        stopping = asyncio.create_task(stop.wait(), name="stop-signal")
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return
        starting.result()  # a configuration error raised during the start
        settle_heap()
        log.info("running on %s's event loop; press Ctrl+C to stop", type(loop).__module__.split(".")[0])
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)
            failure = app.failure()
            if failure is not None:
                raise failure
    finally:
        await app.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
