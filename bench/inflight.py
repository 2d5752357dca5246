"""Updates in flight in a MAX burst: with the bound (handlers/inflight.py) and without it.

`python -m bench.inflight [--people 2000] [--bound 200]` (``--bound 0``: no bound, one task per update
at once, as before issue 13's bound). Run each in its own process so the RSS numbers compare.

The MAX emulator and the whole Application (a fresh SQLite file) run in this process; ``--people``
new people press "Start" at once and each waits for the bot's first screen. Printed: the most update
handlers running at once, the most asyncio tasks alive, RSS before, at its peak and after, and the
seconds until everyone was answered. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.app import Application
from bot.config import Settings
from bot.max.client import MaxTiming
from bot.max.transport import MaxTransport
from bot.sandbox.max.emulator import MaxEmulator
from handlers.inbox import InboxFeed

FIRST_USER = 40_000_000


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(people: int, bound: int) -> None:
    InboxFeed.max_in_flight = bound or 10**9
    running = peak = 0
    dispatch = MaxTransport._dispatch

    async def counted(self: MaxTransport, update: dict[str, Any]) -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await dispatch(self, update)
        finally:
            running -= 1

    MaxTransport._dispatch = counted  # type: ignore[method-assign]
    emu = MaxEmulator()
    await emu.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            max_token=emu.token,
            max_api_url=emu.url,
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
            consent_version="bench",
            web_port=0,
        )
        delivery = {"per_chat_interval": 0.05, "retry_base": 0.1, "poll_interval": 0.2}
        timing = MaxTiming(backoff=0.05, rate_wait=0.05, longpoll_backoff=0.1)
        app = Application(settings, polling_timeout=1, delivery=delivery, max_timing=timing)
        await app.start()
        before = rss_mib()
        most_tasks, most_rss = 0, before

        async def sample() -> None:
            nonlocal most_tasks, most_rss
            while True:
                most_tasks = max(most_tasks, len(asyncio.all_tasks()))
                most_rss = max(most_rss, rss_mib())
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        users = [emu.user(FIRST_USER + n) for n in range(people)]
        began = time.monotonic()
        for user in users:
            await user.start()
        waiting = {u.user_id for u in users}
        while waiting:
            await asyncio.sleep(0.2)
            waiting -= {m.chat[1] for m in list(emu.messages.values()) if m.from_bot and m.chat[0] == "user"}
        took = time.monotonic() - began
        sampler.cancel()
        after = rss_mib()
        await app.stop()
    await emu.stop()
    label = f"bound {bound}" if bound else "no bound"
    print(
        f"{label:>10}: {people} people in {took:.1f} s ({people / took:.0f}/s); handlers at once: {peak}; "
        f"asyncio tasks at most: {most_tasks}; RSS MiB before {before:.0f}, peak {most_rss:.0f}, "
        f"after {after:.0f} (+{most_rss - before:.0f} at peak)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--bound", type=int, default=200, help="0: no bound")
    args = parser.parse_args()
    asyncio.run(run(args.people, args.bound))


if __name__ == "__main__":
    main()
