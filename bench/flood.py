"""The flood row: one person sends 500 messages at once while 100 others press /start.

Run by ``python -m bench.burst`` (``--flood``); the others' p99 is compared with a run of the same bot
without the flood, each in a fresh process. Printed beside it: how many answers the flooder got, how
many times they were told to slow down, and how long their SOS (sent in the middle) waited.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from bench.burst import FIRST_USER, _percentile, _poll_until, first_replies, running

FLOODER = FIRST_USER - 1
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


async def flood(name: str, args: list[str], *, others: int, messages: int, seconds: float) -> FloodResult:
    queued: dict[int, float] = {}
    sos_queued = 0.0
    async with running(args) as (emulator, child):
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
    )
