"""The headline benchmark: a burst of new families pressing /start at once, end to end.

`python -m bench.burst [--people 1000] [--rounds 1] [--postgres URL]`

The project's Bot API emulator (bot/sandbox/telegram/emulator.py) runs in this process; each bot runs in a child
process (bench/burst_bots.py) polling it over HTTP: first a bare aiogram echo bot, then this project's
whole Application on a fresh SQLite file (and on PostgreSQL when --postgres or TEST_POSTGRES_URL is given).
An update's latency runs from the moment it is queued at the emulator to the moment the emulator receives
the bot's first sendMessage to that chat. Printed: updates a second, p50, p99, peak RSS of the bot's
process, and each as a ratio to the echo bot measured in the same run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.db import create_engine

FIRST_USER = 10_000_000
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    rate: float  # updates a second, first update queued to last one answered
    p50: float  # seconds
    p99: float
    rss_mib: float  # peak resident set size of the bot's process
    answered: int
    cpu_ms: float = 0.0  # the bot's CPU time (user + system) per update during the burst: steadier than
    # rates on a shared machine, where other processes take the cores


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _poll_until(done: Callable[[], bool], seconds: float, child: asyncio.subprocess.Process) -> None:
    """The emulator has no event for "a chat got a message"; looking every few ms is precise enough."""
    deadline = time.monotonic() + seconds
    while not done():
        if child.returncode is not None:
            raise RuntimeError(f"the bot exited with {child.returncode}")
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.02)


async def burst(name: str, args: list[str], people: int, seconds: float) -> Result:
    emulator = TelegramEmulator()
    await emulator.start()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.burst_bots",
        args[0],
        emulator.base_url,
        *args[1:],
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _poll_until(lambda: bool(emulator.calls_of("getUpdates")), 60, child)
        await asyncio.sleep(0.3)  # the first long poll is in place
        queued: dict[int, float] = {}
        cpu_before = _cpu_seconds(child.pid)
        for n in range(people):
            user = FIRST_USER + n
            queued[user] = time.time()
            emulator.message(user, "/start", first_name=f"Parent {n}")
        await _poll_until(
            lambda: sum(1 for u in queued if emulator.messages.get(u)) >= people, seconds, child
        )
        cpu = _cpu_seconds(child.pid) - cpu_before
        first_reply: dict[int, float] = {}
        for call in emulator.calls_of("sendMessage"):
            chat = int(call.params.get("chat_id", 0))
            if chat in queued and chat not in first_reply and call.error is None:
                first_reply[chat] = call.at
        rss = _peak_rss_mib(child.pid)
    finally:
        if child.returncode is None:
            child.terminate()
            try:
                await asyncio.wait_for(child.wait(), 15)
            except TimeoutError:
                child.kill()
                await child.wait()
        await emulator.stop()
    latencies = [first_reply[u] - queued[u] for u in first_reply]
    if not latencies:
        raise RuntimeError(f"{name}: no update was answered")
    span = max(first_reply.values()) - min(queued.values())
    return Result(
        name=name,
        rate=len(latencies) / span,
        p50=statistics.median(latencies),
        p99=_percentile(latencies, 0.99),
        rss_mib=rss,
        answered=len(latencies),
        cpu_ms=cpu * 1000 / people,
    )


async def _wipe_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def run(people: int, rounds: int, postgres: str | None, seconds: float) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            results.append(await burst("echo (bare aiogram)", ["echo"], people, seconds))
            sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / f'bench{r}.sqlite3'}"
            results.append(await burst("this bot, SQLite", ["app", sqlite_url], people, seconds))
            if postgres:
                await _wipe_postgres(postgres)
                results.append(await burst("this bot, PostgreSQL", ["app", postgres], people, seconds))
    return results


def report(results: list[Result], people: int) -> None:
    print(f"{people} new people press /start at once; ratios are to the echo bot of the same round")
    head = f"{'bot':24} {'answered':>8} {'upd/s':>8} {'p50 s':>7} {'p99 s':>7} {'RSS MiB':>8} {'CPU ms':>7}"
    print(f"{head}   {'rate':>6} {'p50':>6} {'p99':>6} {'RSS':>6} {'CPU':>6}")
    echo = results[0]
    for res in results:
        if res.name.startswith("echo"):
            echo = res
        print(
            f"{res.name:24} {res.answered:8d} {res.rate:8.0f} {res.p50:7.2f} {res.p99:7.2f} {res.rss_mib:8.1f} {res.cpu_ms:7.2f}"
            f"   {res.rate / echo.rate:6.2f} {res.p50 / echo.p50:6.1f} {res.p99 / echo.p99:6.1f}"
            f" {res.rss_mib / echo.rss_mib:6.1f} {res.cpu_ms / echo.cpu_ms:6.1f}"
        )
    print("goal (issue 13): rate ratio >= 0.75, p99 ratio <= 3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1, help="echo and bot again, alternating")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL") or None)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for every reply")
    options = parser.parse_args()
    results = asyncio.run(run(options.people, options.rounds, options.postgres, options.timeout))
    report(results, options.people)


if __name__ == "__main__":
    main()
