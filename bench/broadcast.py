"""Broadcasts against the emulators in limit mode: rate, calls, replies meanwhile, and memory.

`python -m bench.broadcast [--people 10000] [--rate 25] [--memory 10000,100000]`

One process runs the Telegram and VK emulators with the platforms' limits enforced (Telegram about
30 messages a second per bot, 429 beyond; VK 20 calls a second per token, error 6 beyond) and the
whole Application on a fresh SQLite file, both platforms at once. ``--people`` families on each
platform are announced to at ``BROADCAST_RATE`` (``--rate``) while a few other families keep writing:
their reply latency is compared with the same families writing before the broadcast. Then memory:
a broadcast's rows are written and its first 2,000 sent for each size in ``--memory``, with the peak
of Python's allocations compared (flat: rows are streamed, never all loaded). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.i18n import load_translators
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from dialogs.assembly import assemble
from dialogs.directory import load_directory
from handlers.broadcasts import BroadcastJob, BroadcastSettings
from handlers.conversation import ConversationService
from handlers.dialog_context import ConversationSettings
from handlers.fanout import Fanout
from storage.db import create_engine, migrate
from storage.models import utcnow
from storage.uow import Database
from storage.vocabulary import Platform
from tests.broadcast_scale_support import TEXT, announce, seed, status_of, statuses
from tests.fakes import FakeManyMessenger
from tests.vk_e2e import VK_GROUP, VK_TOKEN, start_vk_app

FIRST = 10_000_000
UNANSWERED = 30.0  # seconds after which a reply counts as never come (and as that long)
WRITERS = 3  # families (on each platform) who write while the broadcast goes, each every 2 s


@dataclass
class Sending:
    platform: str
    delivered: int
    rate: float  # messages a second, first call to last
    calls: int  # calls that carried the announcement
    refused_by_limit: int  # 429 (Telegram) or error 6 (VK) from the emulator's limit


async def _writer_latencies(tg: TelegramEmulator, vk: VkEmulator, seconds: float) -> list[float]:
    """Each writer writes every 2 s; the time until the bot's next message to them."""
    latencies: list[float] = []

    async def one(platform: str, uid: int, offset: float) -> None:
        await asyncio.sleep(offset)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            before = len(tg.sent_to(uid)) if platform == "tg" else len(vk.sent_to(uid))
            start = time.monotonic()
            if platform == "tg":
                tg.message(uid, "/start")
            else:
                await vk.users[uid].write("/start")
            while (len(tg.sent_to(uid)) if platform == "tg" else len(vk.sent_to(uid))) <= before:
                if time.monotonic() - start > UNANSWERED:
                    break
                await asyncio.sleep(0.005)
            latencies.append(time.monotonic() - start)
            await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - start)))

    writers = [("tg", FIRST - 1 - n) for n in range(WRITERS)] + [
        ("vk", FIRST - 1 - n) for n in range(WRITERS)
    ]
    await asyncio.gather(*(one(p, uid, i / len(writers)) for i, (p, uid) in enumerate(writers)))
    return latencies


def _telegram(tg: TelegramEmulator) -> Sending:
    sent = [c for c in tg.calls_of("sendMessage") if TEXT in str(c.params.get("text")) and c.error is None]
    span = sent[-1].at - sent[0].at
    assert tg.limit is not None
    return Sending("Telegram", len(sent), (len(sent) - 1) / span, len(sent), tg.limit.refused)


def _vk(vk: VkEmulator) -> Sending:
    calls = [
        c for c in vk.calls_of("messages.send") if TEXT in c.params.get("message", "") and c.error is None
    ]
    sizes = [len(c.params["peer_ids"].split(",")) for c in calls]
    span = calls[-1].at - calls[0].at
    assert vk.limit is not None
    # From the first call to the last: the people of every call but the first were paced in between.
    return Sending("VK", sum(sizes), (sum(sizes) - sizes[0]) / span, len(calls), vk.limit.refused)


async def sending(people: int, rate: int, tmp: Path) -> tuple[list[Sending], list[float], list[float]]:
    tg = TelegramEmulator(enforce_limits=True)
    vk = VkEmulator(token=VK_TOKEN, group_id=VK_GROUP, enforce_limits=True)
    await tg.start()
    await vk.start()
    app = await start_vk_app(
        vk,
        f"sqlite+aiosqlite:///{tmp / 'send.sqlite3'}",
        telegram=tg,
        broadcast_rate=rate,
        quiet_hours="off",
        working_hours="off",
        admin_ids="tg:900",
    )
    try:
        assert app.db is not None
        for platform in (Platform.TELEGRAM, Platform.VK):
            await seed(app.db, platform, range(FIRST, FIRST + people))
        for n in range(WRITERS):
            vk.user(FIRST - 1 - n)
        await asyncio.sleep(1)  # the transports are polling
        calm = await _writer_latencies(tg, vk, 10)
        broadcast = await announce(app.db, "tg:900")
        during: list[float] = []
        while await status_of(app.db, broadcast) != "done":
            during += await _writer_latencies(tg, vk, 5)
        print("recipients:", dict(await statuses(app.db, broadcast)), flush=True)
        return [_telegram(tg), _vk(vk)], calm, during
    finally:
        await app.stop()
        await tg.stop()
        await vk.stop()


async def memory(size: int, tmp: Path, sent: int = 2000) -> float:
    """Peak KiB of Python allocations while ``size`` rows are written and the first ``sent`` sent."""
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp / f'memory{size}.sqlite3'}"))
    await migrate(db.engine)
    await seed(db, Platform.VK, range(FIRST, FIRST + size))
    messenger = FakeManyMessenger(record=False)
    translators = load_translators("ru")
    service = ConversationService(
        db,
        dialogs=assemble(),
        messengers={Platform.VK: messenger},
        translators=translators,
        directory=load_directory(),
        settings=ConversationSettings(consent_version="test-1", default_locale="ru"),
    )
    job = BroadcastJob(
        db,
        push=service.push,
        many=Fanout(service),
        messengers={Platform.VK: messenger},
        translators=translators,
        directory=load_directory(),
        settings=BroadcastSettings(quiet=None, default_zone=ZoneInfo("Europe/Moscow")),
    )
    broadcast = await announce(db, "vk:1")
    tracemalloc.start()
    try:
        while (await statuses(db, broadcast)).get("sent", 0) < sent:
            await job.run_once(utcnow())
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()
        await db.dispose()


def report(
    rate: int, results: list[Sending], calm: list[float], during: list[float], mem: dict[int, float]
) -> None:
    print(f"\nBROADCAST_RATE {rate} a second per platform; emulators in limit mode")
    print(
        f"{'platform':10} {'delivered':>9} {'msg/s':>7} {'of rate':>8} {'calls':>6} {'calls/person':>13} {'limit hits':>11}"
    )
    for r in results:
        print(
            f"{r.platform:10} {r.delivered:9d} {r.rate:7.2f} {r.rate / rate:8.3f} {r.calls:6d}"
            f" {r.calls / r.delivered:13.3f} {r.refused_by_limit:11d}"
        )
    p50, p50b = statistics.median(during), statistics.median(calm)
    p99 = sorted(during)[int(0.99 * (len(during) - 1))]
    p99b = sorted(calm)[int(0.99 * (len(calm) - 1))]
    print(f"\nreplies to families writing: {len(calm)} before, {len(during)} during the broadcast")
    print(f"{'':10} {'before s':>9} {'during s':>9} {'ratio':>7}")
    print(f"{'p50':10} {p50b:9.3f} {p50:9.3f} {p50 / p50b:7.2f}")
    print(f"{'p99':10} {p99b:9.3f} {p99:9.3f} {p99 / p99b:7.2f}")
    sizes = sorted(mem)
    print("\npeak Python memory while the rows are written and the first 2,000 sent")
    for size in sizes:
        print(
            f"{size:>10} recipients {mem[size]:10.0f} KiB   ratio to {sizes[0]:,}: {mem[size] / mem[sizes[0]]:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000, help="recipients on each platform")
    parser.add_argument("--rate", type=int, default=25, help="BROADCAST_RATE")
    parser.add_argument("--memory", default="10000,100000", help="recipients for the memory runs")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        mem = {}
        for n in map(int, options.memory.split(",")):
            mem[n] = asyncio.run(memory(n, Path(tmp)))
            print(f"memory: {n} recipients, peak {mem[n]:.0f} KiB", flush=True)
        results, calm, during = asyncio.run(sending(options.people, options.rate, Path(tmp)))
    report(options.rate, results, calm, during, mem)


if __name__ == "__main__":
    main()
