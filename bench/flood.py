"""The flood row: one person sends 500 messages at once while 100 others press /start.

Run alone by ``python -m bench.flood [rounds] [--platform vk]``, or by ``python -m bench.burst``; the
others' p99 is compared with a run of the same bot without the flood, each in a fresh process. Printed
beside it: how many answers the flooder got, how many times they were told to slow down, how long
their SOS (sent in the middle) waited, and the CPU time of the bot and of the emulator over the run.
``--platform vk``: the same rows for a bot on VK alone, against the VK emulator (the others press
VK's Start button); the flooder's messages go through the VK transport's lanes (handlers/inbox.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.burst import FIRST_USER, _cpu_seconds, _percentile, _poll_until, child_bot, first_replies, running
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from bot.sandbox.vk.user import VkUser

FLOODER = FIRST_USER - 1
WARM = FIRST_USER - 2  # writes first in both runs, so neither pays the process's first-use costs
SOS_TEXT = "SOS"
TOLD = ("Вы пишете очень быстро", "You are writing very fast")


class Chats(Protocol):
    """The emulator a bot serves, as the flood row writes to it and reads it."""

    async def write(self, user: int, text: str, name: str) -> float:
        """When it was queued, on the clock of ``replies`` and ``numbers_at``."""
        ...

    async def start(self, user: int, name: str) -> float: ...
    def answers(self, user: int) -> list[str]: ...
    def replies(self, users: Collection[int]) -> dict[int, float]:
        """When each person got the bot's first message."""
        ...

    def numbers_at(self, user: int) -> list[float]:
        """When the emergency numbers were sent to ``user``."""
        ...


class TelegramChats:
    def __init__(self, emulator: TelegramEmulator) -> None:
        self.emulator = emulator

    async def write(self, user: int, text: str, name: str) -> float:
        queued = time.time()
        self.emulator.message(user, text, first_name=name)
        return queued

    async def start(self, user: int, name: str) -> float:
        return await self.write(user, "/start", name)

    def answers(self, user: int) -> list[str]:
        return [m.text or "" for m in self.emulator.sent_to(user)]

    def replies(self, users: Collection[int]) -> dict[int, float]:
        return first_replies(self.emulator, users)

    def numbers_at(self, user: int) -> list[float]:
        return [
            call.at
            for call in self.emulator.calls_of("sendMessage")
            if int(call.params.get("chat_id", 0)) == user and "112" in str(call.params.get("text", ""))
        ]


class VkChats:
    def __init__(self, vk: VkEmulator) -> None:
        self.vk = vk
        self._users: dict[int, VkUser] = {}

    def _user(self, user: int, name: str) -> VkUser:
        if user not in self._users:
            self._users[user] = self.vk.user(user, first_name=name)
        return self._users[user]

    async def write(self, user: int, text: str, name: str) -> float:
        queued = time.monotonic()  # the clock of the VK emulator's calls
        await self._user(user, name).write(text)
        return queued

    async def start(self, user: int, name: str) -> float:
        queued = time.monotonic()
        await self._user(user, name).start()
        return queued

    def answers(self, user: int) -> list[str]:
        return [m.text for m in self.vk.sent_to(user)]

    def _sends(self) -> list[tuple[set[int], float, str]]:
        """Each answered messages.send: to whom, when, what."""
        sends = []
        for call in self.vk.calls_of("messages.send"):
            peers = str(call.params.get("peer_ids") or call.params.get("peer_id") or "")
            if call.error is None:
                sends.append(
                    ({int(p) for p in peers.split(",") if p}, call.at, call.params.get("message", ""))
                )
        return sends

    def replies(self, users: Collection[int]) -> dict[int, float]:
        first: dict[int, float] = {}
        for peers, at, _text in self._sends():
            for peer in peers:
                if peer in users and peer not in first:
                    first[peer] = at
        return first

    def numbers_at(self, user: int) -> list[float]:
        return [at for peers, at, text in self._sends() if user in peers and "112" in text]


@asynccontextmanager
async def serving(platform: str, args: list[str]) -> AsyncIterator[tuple[Chats, asyncio.subprocess.Process]]:
    """The platform's emulator here, and the bot serving it in a child process."""
    if platform != "vk":
        async with running(args) as (emulator, child):
            yield TelegramChats(emulator), child
        return
    vk = VkEmulator()
    await vk.start()
    try:
        async with child_bot(["vk", *args[1:]], vk.url, lambda: bool(vk.lp_requests)) as child:
            yield VkChats(vk), child
    finally:
        await vk.stop()


@dataclass
class FloodResult:
    name: str
    p50: float  # the others' first answers
    p99: float
    flooder_answers: int = 0
    told: int = 0
    sos_seconds: float | None = None  # from the SOS queued to the emergency numbers sent
    cpu_s: float = 0.0  # the bot's CPU time (user + system) from the first message to the last answer
    # This process's, over the same span: the emulator serving the bot shares the machine's cores
    # with it, so a flood's extra emulator work (500 more updates to hand out) is seen here.
    emulator_cpu_s: float = 0.0


async def flood(
    name: str, args: list[str], *, others: int, messages: int, seconds: float, platform: str = "telegram"
) -> FloodResult:
    queued: dict[int, float] = {}
    sos_queued = 0.0
    async with serving(platform, args) as (chats, child):
        # A text's first look for words of danger loads the morphology dictionary, the first turns
        # fill caches: a cost of the process's first minutes, which only the flooded run would pay
        # if no one had written before (both runs start from the same warm state).
        await chats.start(WARM, "Warm")
        await _poll_until(lambda: bool(chats.answers(WARM)), seconds, child)
        await chats.write(WARM, "привет", "Warm")
        await _poll_until(lambda: len(chats.answers(WARM)) > 1, seconds, child)
        cpu_before, own_before = _cpu_seconds(child.pid), time.process_time()
        for n in range(messages if messages else 0):
            if n == messages // 2:
                sos_queued = await chats.write(FLOODER, SOS_TEXT, "Flood")
            await chats.write(FLOODER, f"сообщение {n}", "Flood")
        for n in range(others):
            user = FIRST_USER + n
            queued[user] = await chats.start(user, f"Parent {n}")

        def done() -> bool:
            served = all(chats.answers(u) for u in queued)
            return served and (not messages or any("112" in text for text in chats.answers(FLOODER)))

        await _poll_until(done, seconds, child)
        cpu, own = _cpu_seconds(child.pid) - cpu_before, time.process_time() - own_before
        first = chats.replies(queued)
        sos_at = chats.numbers_at(FLOODER)
        to_flooder = chats.answers(FLOODER)
    latencies = [first[u] - queued[u] for u in first]
    if not latencies:
        raise RuntimeError(f"{name}: nobody was answered")
    return FloodResult(
        name=name,
        p50=statistics.median(latencies),
        p99=_percentile(latencies, 0.99),
        flooder_answers=len(to_flooder),
        told=sum(any(t in text for t in TOLD) for text in to_flooder),
        sos_seconds=(min(sos_at) - sos_queued) if sos_at else None,
        cpu_s=cpu,
        emulator_cpu_s=own,
    )


async def _rounds(rounds: int, seconds: float, platform: str) -> list[tuple[FloodResult, FloodResult]]:
    pairs = []
    start = "Start" if platform == "vk" else "/start"
    with tempfile.TemporaryDirectory() as tmp:

        def sqlite(tag: str) -> list[str]:
            return ["app", f"sqlite+aiosqlite:///{Path(tmp) / f'bench-{tag}.sqlite3'}"]

        for r in range(rounds):
            quiet, loud = [
                await flood(
                    f"100 {start}{label}",
                    sqlite(f"{tag}{r}"),
                    others=100,
                    messages=n,
                    seconds=seconds,
                    platform=platform,
                )
                for label, tag, n in ((", no flood", "q", 0), (" + 500 from one", "f", 500))
            ]
            pairs.append((quiet, loud))
    return pairs


def main() -> None:
    """`python -m bench.flood [rounds] [--platform vk]`: only the flood rows, each round a quiet run
    then a loud one (the machine's noise moves both; compare the ratio within a round)."""
    parser = argparse.ArgumentParser(prog="python -m bench.flood")
    parser.add_argument("rounds", nargs="?", type=int, default=1)
    parser.add_argument("--platform", choices=["telegram", "vk"], default="telegram")
    options = parser.parse_args()
    print(f"platform: {options.platform}")
    for quiet, loud in asyncio.run(_rounds(options.rounds, 120.0, options.platform)):
        for row in (quiet, loud):
            sos = "-" if row.sos_seconds is None else f"{row.sos_seconds:.2f} s"
            print(
                f"{row.name:28} p50 {row.p50:6.2f} s  p99 {row.p99:6.2f} s   flooder: {row.flooder_answers}"
                f" answers, told {row.told}x, SOS answered after {sos}, CPU {row.cpu_s:.2f} s"
                f" (emulator {row.emulator_cpu_s:.2f} s)"
            )
        print(f"others' p99 with the flood / without: {loud.p99 / quiet.p99:.2f} (goal: <= 2)", flush=True)


if __name__ == "__main__":
    main()
