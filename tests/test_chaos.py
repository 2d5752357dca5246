"""Chaos: the real `python -m bot`, SIGKILLed at seeded random moments while 20 families write.

Every action of every family must get an answer, every request must be saved once, and every
request's card must reach the coordinators. Duplicate cards (a kill between a post and its record)
are counted and printed: they are allowed, lost ones are not.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
from pathlib import Path

from sqlalchemy import select

from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.db import create_engine
from storage.models import Ticket
from storage.uow import Database
from tests.contract_support import CONTRACT, ROOT
from tests.e2e import GROUP, TOKEN, cards
from tests.journeys import family

FAMILIES = 20
KILLS = 3
SEED = int(os.environ.get("CHAOS_SEED", "20261128"))


class Bot:
    """The bot as an operating system process, killed and started again."""

    def __init__(self, emulator: TelegramEmulator, workdir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
        self.env = env | {
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.base_url,
            "COORDINATOR_CHAT": f"tg:{GROUP}",
            "INSTANCE_ID": "chaos-bot",
            "WEB_PORT": "0",
        }
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=self.workdir,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.starts += 1

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), timeout=40)


async def test_sigkill_at_random_moments_loses_nothing(emulator: TelegramEmulator, tmp_path: Path) -> None:
    chance = random.Random(SEED)
    bot = Bot(emulator, tmp_path)
    await bot.start()
    unanswered: list[str] = []
    try:
        await emulator.wait_for(lambda: bool(emulator.calls_of("getUpdates")), timeout=30)
        users = [9000 + n for n in range(FAMILIES)]
        journeys = asyncio.gather(*(family(emulator, user, unanswered) for user in users))
        for _ in range(KILLS):
            await asyncio.sleep(chance.uniform(0.3, 2.5))
            await bot.kill()
            await bot.start()
        await journeys
        assert unanswered == [], f"actions left without an answer (seed {SEED}): {unanswered}"

        db = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.sqlite3'}"))
        try:
            async with db.uow() as uow:
                tickets = (await uow.session.scalars(select(Ticket))).all()
        finally:
            await db.dispose()
        assert len(tickets) == FAMILIES, f"{len(tickets)} requests for {FAMILIES} families (seed {SEED})"
        for user in users:  # every family was told its number
            assert any("#" in (m.text or "") and "принята" in (m.text or "") for m in emulator.sent_to(user))

        # Cards are paced (20 a minute in a group): wait for all of them.
        wanted = {t.id for t in tickets}

        def posted() -> list[int]:
            return [int(n) for card in cards(emulator) for n in re.findall(r"#(\d+)", card.text or "")[:1]]

        await emulator.wait_for(lambda: wanted <= set(posted()), timeout=120)
        duplicates = len(posted()) - len(set(posted()))
        print(f"chaos (seed {SEED}): {bot.starts} starts, {duplicates} duplicate cards")
    finally:
        await bot.stop()
