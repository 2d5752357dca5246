"""The headline benchmark: a burst of new families pressing /start at once, end to end.

`python -m bench.burst [--people 1000] [--rounds 1] [--postgres URL]`

The project's Bot API emulator (bot/sandbox/telegram/emulator.py) runs in this process; each bot runs in a child
process (bench/burst_bots.py) polling it over HTTP: first a bare aiogram echo bot, then a bare aiogram
bot answering with a screen like this bot's welcome (what the reply itself costs), then this project's
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
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from bot.sandbox.telegram.emulator import TelegramEmulator

if TYPE_CHECKING:
    from bench.flood import FloodResult
from storage.db import create_engine, migrate

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
    rss_waves: list[float] = field(default_factory=list)  # VmRSS after each wave, MiB
    cpu_ms: float = 0.0  # the bot's CPU time (user + system) per update during the burst: steadier than
    # rates on a shared machine, where other processes take the cores


def _rss_mib(pid: int, field: str) -> float:
    """VmHWM: the peak resident set; VmRSS: the resident set now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
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


@asynccontextmanager
async def child_bot(
    args: list[str], api_url: str, ready: Callable[[], bool]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A bot in a child process (bench/burst_bots.py) serving the emulator at ``api_url``, once
    ``ready`` says its first long poll is in place; terminated at the end."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.burst_bots",
        args[0],
        api_url,
        *args[1:],
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _poll_until(ready, 60, child)
        await asyncio.sleep(0.3)
        yield child
    finally:
        if child.returncode is None:
            child.terminate()
            try:
                await asyncio.wait_for(child.wait(), 15)
            except TimeoutError:
                child.kill()
                await child.wait()


@asynccontextmanager
async def running(args: list[str]) -> AsyncIterator[tuple[TelegramEmulator, asyncio.subprocess.Process]]:
    """The emulator here and a bot polling it in a child process, its first long poll in place."""
    emulator = TelegramEmulator()
    await emulator.start()
    try:
        async with child_bot(args, emulator.base_url, lambda: bool(emulator.calls_of("getUpdates"))) as child:
            yield emulator, child
    finally:
        await emulator.stop()


def first_replies(emulator: TelegramEmulator, chats: Collection[int]) -> dict[int, float]:
    """When each chat got its first message from the bot."""
    first: dict[int, float] = {}
    for call in emulator.calls_of("sendMessage"):
        chat = int(call.params.get("chat_id", 0))
        if chat in chats and chat not in first and call.error is None:
            first[chat] = call.at
    return first


async def burst(name: str, args: list[str], people: int, seconds: float, waves: int = 1) -> Result:
    """``people`` new people press /start, in ``waves`` bursts one after another (the RSS after each
    wave shows whether memory grows with the number of dialogs)."""
    queued: dict[int, float] = {}
    rss_after: list[float] = []
    if args[0] == "app":
        await _migrate(args[1])
    async with running(args) as (emulator, child):
        cpu_before = _cpu_seconds(child.pid)
        per_wave = people // waves
        for wave in range(waves):
            users = range(FIRST_USER + wave * per_wave, FIRST_USER + (wave + 1) * per_wave)
            for user in users:
                queued[user] = time.time()
                emulator.message(user, "/start", first_name=f"Parent {user}")
            await _poll_until(lambda: all(emulator.messages.get(u) for u in users), seconds, child)  # noqa: B023 - awaited here
            rss_after.append(_rss_mib(child.pid, "VmRSS"))
        cpu = _cpu_seconds(child.pid) - cpu_before
        first_reply = first_replies(emulator, queued)
        rss = _rss_mib(child.pid, "VmHWM")
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
        rss_waves=rss_after,
    )


async def _migrate(url: str) -> None:
    """The bot starts on a database already at head, as every start but the first after an upgrade:
    Alembic is then not imported (storage/db.py), and the RSS is the running bot's, not a first
    start's (which carries Alembic's 11 MiB until the next restart)."""
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()


async def _wipe_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@dataclass
class Options:
    people: int = 1000
    rounds: int = 1
    postgres: str | None = None
    seconds: float = 120.0
    memory: int = 0  # people for the memory rows (two waves), 0: none
    flood: bool = True


async def run(o: Options) -> tuple[list[Result], list[Result], list[FloodResult]]:
    from bench.flood import flood  # noqa: PLC0415 - bench.flood builds on this module

    bursts, memory, floods = [], [], []
    with tempfile.TemporaryDirectory() as tmp:

        def sqlite(tag: str) -> list[str]:
            return ["app", f"sqlite+aiosqlite:///{Path(tmp) / f'bench-{tag}.sqlite3'}"]

        for r in range(o.rounds):
            bursts.append(await burst("echo (bare aiogram)", ["echo"], o.people, o.seconds))
            bursts.append(await burst("aiogram, same screen", ["screen"], o.people, o.seconds))
            bursts.append(await burst("this bot, SQLite", sqlite(f"b{r}"), o.people, o.seconds))
            if o.postgres:
                await _wipe_postgres(o.postgres)
                bursts.append(await burst("this bot, PostgreSQL", ["app", o.postgres], o.people, o.seconds))
        if o.memory:
            memory.append(await burst("echo (bare aiogram)", ["echo"], o.memory, o.seconds * 10, waves=2))
            memory.append(await burst("this bot, SQLite", sqlite("m"), o.memory, o.seconds * 10, waves=2))
        if o.flood:
            quiet = await flood(
                "100 /start, no flood", sqlite("q"), others=100, messages=0, seconds=o.seconds
            )
            loud = await flood(
                "100 /start + 500 from one", sqlite("f"), others=100, messages=500, seconds=o.seconds
            )
            floods += [quiet, loud]
    return bursts, memory, floods


def report(o: Options, bursts: list[Result], memory: list[Result], floods: list[FloodResult]) -> None:
    print(f"{o.people} new people press /start at once; ratios are to the echo bot of the same round")
    head = f"{'bot':24} {'answered':>8} {'upd/s':>8} {'p50 s':>7} {'p99 s':>7} {'RSS MiB':>8} {'CPU ms':>7}"
    print(f"{head}   {'rate':>6} {'p50':>6} {'p99':>6} {'RSS':>6} {'CPU':>6}")
    echo = bursts[0]
    for res in bursts:
        echo = res if res.name.startswith("echo") else echo
        print(
            f"{res.name:24} {res.answered:8d} {res.rate:8.0f} {res.p50:7.2f} {res.p99:7.2f} {res.rss_mib:8.1f}"
            f" {res.cpu_ms:7.2f}   {res.rate / echo.rate:6.2f} {res.p50 / echo.p50:6.1f}"
            f" {res.p99 / echo.p99:6.1f} {res.rss_mib / echo.rss_mib:6.1f} {res.cpu_ms / echo.cpu_ms:6.1f}"
        )
    print("goal (issue 13): rate ratio >= 0.75, p99 ratio <= 3; CPU ms: the bot's CPU per update")
    if memory:
        half = o.memory // 2
        print(f"\nmemory: {o.memory} people in two waves; RSS (MiB) after {half} and after {o.memory}")
        echo_rss = memory[0].rss_waves[-1]
        for res in memory:
            first, last = res.rss_waves[0], res.rss_waves[-1]
            growth = (last - first) / (half / 1000)
            print(
                f"{res.name:24} {first:8.1f} {last:8.1f}   {last / echo_rss:5.2f} of the echo's,"
                f" {growth:+.2f} MiB per 1,000 more dialogs"
            )
        print("goal (issue 13): at most 1.3 of the echo's, at most +1 MiB per 1,000 more dialogs")
    if len(floods) == 2:
        quiet, loud = floods
        print("\nflood: the others' first answers, with and without one person's 500 messages (SQLite)")
        for row in floods:
            sos = "-" if row.sos_seconds is None else f"{row.sos_seconds:.2f} s"
            print(
                f"{row.name:28} p50 {row.p50:6.2f} s  p99 {row.p99:6.2f} s   flooder: {row.flooder_answers}"
                f" answers, told {row.told}x, SOS answered after {sos}"
            )
        print(f"others' p99 with the flood / without: {loud.p99 / quiet.p99:.2f} (goal: <= 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1, help="echo and bot again, alternating")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL") or None)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for every reply")
    parser.add_argument("--memory", type=int, default=0, help="people for the memory rows, e.g. 10000")
    parser.add_argument("--no-flood", action="store_true", help="skip the flood row")
    a = parser.parse_args()
    options = Options(a.people, a.rounds, a.postgres, a.timeout, a.memory, not a.no_flood)
    report(options, *asyncio.run(run(options)))


if __name__ == "__main__":
    main()
