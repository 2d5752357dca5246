"""The flood row: one person sends 500 messages at once while 100 others press /start.

Run alone by ``python -m bench.flood [rounds]``, or by ``python -m bench.burst``; the others' p99 is
compared with a run of the same bot without the flood, each in a fresh process. Printed beside it:
how many answers the flooder got, how many times they were told to slow down, how long their SOS (sent
in the middle) waited, and the CPU time of the bot and of the emulator over the run.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.burst import FIRST_USER, _cpu_seconds, _percentile, _poll_until, first_replies, running

FLOODER = FIRST_USER - 1
WARM = FIRST_USER - 2  # writes first in both runs, so neither pays the process's first-use costs
SOS_TEXT = "SOS"
TOLD = ("Вы пишете очень быстро", "You are writing very fast")


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


async def flood(name: str, args: list[str], *, others: int, messages: int, seconds: float) -> FloodResult:
    queued: dict[int, float] = {}
    sos_queued = 0.0
    async with running(args) as (emulator, child):
        # A text's first look for words of danger loads the morphology dictionary, the first turns
        # fill caches: a cost of the process's first minutes, which only the flooded run would pay
        # if no one had written before (both runs start from the same warm state).
        emulator.message(WARM, "/start", first_name="Warm")
        await _poll_until(lambda: bool(emulator.messages.get(WARM)), seconds, child)
        emulator.message(WARM, "привет", first_name="Warm")
        await _poll_until(lambda: len(emulator.sent_to(WARM)) > 1, seconds, child)
        cpu_before, own_before = _cpu_seconds(child.pid), time.process_time()
        for n in range(messages if messages else 0):
            if n == messages // 2:
                sos_queued = time.time()
                emulator.message(FLOODER, SOS_TEXT, first_name="Flood")
            emulator.message(FLOODER, f"сообщение {n}", first_name="Flood")
        for n in range(others):
            user = FIRST_USER + n
            queued[user] = time.time()
            emulator.message(user, "/start", first_name=f"Parent {n}")

        def done() -> bool:
            served = all(emulator.messages.get(u) for u in queued)
            return served and (
                not messages or any("112" in (m.text or "") for m in emulator.sent_to(FLOODER))
            )

        await _poll_until(done, seconds, child)
        cpu, own = _cpu_seconds(child.pid) - cpu_before, time.process_time() - own_before
        first = first_replies(emulator, queued)
        sos_at = [
            call.at
            for call in emulator.calls_of("sendMessage")
            if int(call.params.get("chat_id", 0)) == FLOODER and "112" in str(call.params.get("text", ""))
        ]
        to_flooder = [m.text or "" for m in emulator.sent_to(FLOODER)]
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


async def _rounds(rounds: int, seconds: float) -> list[tuple[FloodResult, FloodResult]]:
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:

        def sqlite(tag: str) -> list[str]:
            return ["app", f"sqlite+aiosqlite:///{Path(tmp) / f'bench-{tag}.sqlite3'}"]

        for r in range(rounds):
            quiet = await flood(
                "100 /start, no flood", sqlite(f"q{r}"), others=100, messages=0, seconds=seconds
            )
            loud = await flood(
                "100 /start + 500 from one", sqlite(f"f{r}"), others=100, messages=500, seconds=seconds
            )
            pairs.append((quiet, loud))
    return pairs


def main() -> None:
    """`python -m bench.flood [rounds]`: only the flood rows, each round a quiet run then a loud one
    (the machine's noise moves both; compare the ratio within a round)."""
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    for quiet, loud in asyncio.run(_rounds(rounds, 120.0)):
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
