"""Two `python -m bot` replicas in webhook mode on one PostgreSQL and one Redis, behind a round robin.

Each family gets its request saved once and its dialog in order, each card is posted once, a claim
has one winner, and killing one replica (SIGKILL) in the middle loses nothing: the other takes over.
Needs PostgreSQL (TEST_POSTGRES_URL) and `redis-server`; `.ci/run` starts both.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.db import create_engine
from storage.models import Ticket
from storage.uow import Database
from tests.contract_support import CONTRACT, ROOT
from tests.e2e import GROUP, TOKEN, cards
from tests.journeys import family, hurried, max_family

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "")
REDIS_SERVER = shutil.which("redis-server")
SECRET = "replica-webhook-secret-42"
FAMILIES = 12
HURRIED = 9400

pytestmark = pytest.mark.skipif(
    not (POSTGRES and REDIS_SERVER), reason="needs PostgreSQL (TEST_POSTGRES_URL) and redis-server"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    assert REDIS_SERVER is not None
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        REDIS_SERVER, "--port", str(port), "--save", "", "--appendonly", "no",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.3)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    await server.wait()


async def wipe(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def ready(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as reply,
        ):
            return reply.status == 200
    except aiohttp.ClientError:
        return False


class Replica:
    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name, self.port = name, free_port()
        self.env = env | {"WEB_PORT": str(self.port), "INSTANCE_ID": name, "WEB_HOST": "127.0.0.1"}
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=self.workdir, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not await ready(self.port):
            assert loop.time() < deadline, f"replica {self.name} did not become ready"
            await asyncio.sleep(0.2)

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg/hook"

    @property
    def max_hook(self) -> str:
        return f"http://127.0.0.1:{self.port}/max"

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), timeout=90)


async def test_two_replicas_do_everything_once(
    emulator: TelegramEmulator, max_emu: MaxEmulator, redis_url: str, tmp_path: Path
) -> None:
    await wipe(POSTGRES)
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": POSTGRES,
        "REDIS_URL": redis_url,
        "WEBHOOK_URL": "https://bot.example.org/tg/hook",
        "WEBHOOK_SECRET": SECRET,
        "COORDINATOR_CHAT": f"tg:{GROUP}",
        # And one family on MAX, whose updates MAX posts to the replicas' /max in turn.
        "MAX_TOKEN": max_emu.token,
        "MAX_API_URL": max_emu.url,
    }
    a, b = Replica("replica-a", env, tmp_path), Replica("replica-b", env, tmp_path)
    max_emu.webhook_targets = [a.max_hook, b.max_hook]  # never the public address
    await asyncio.gather(a.start(), b.start())  # they migrate at once: one does, the other waits
    try:
        emulator.webhook_targets = [a.hook, b.hook]  # a load balancer in front, round robin
        await max_emu.wait_for(lambda: list(max_emu.subscriptions) == ["https://bot.example.org/max"])
        unanswered: list[str] = []
        # One family types its story in quick parts, alternating replicas: the parts keep their order.
        parts = [f"часть {n}" for n in range(1, 7)]
        await hurried(emulator, HURRIED, parts, unanswered)
        users = [9500 + n for n in range(FAMILIES)]
        journeys = asyncio.gather(
            *(family(emulator, user, unanswered) for user in users), max_family(max_emu, 9600, unanswered)
        )
        await asyncio.sleep(1.5)
        await a.kill()  # in the middle: what it kept and did not finish is taken over by the other
        emulator.webhook_targets = [b.hook]
        max_emu.webhook_targets = [b.max_hook]
        await journeys
        assert unanswered == [], unanswered

        db = Database(create_engine(POSTGRES))
        try:
            async with db.uow() as uow:
                tickets = (await uow.session.scalars(select(Ticket))).all()
        finally:
            await db.dispose()
        # The Telegram families, the hurried one and the MAX family: one request each.
        assert len(tickets) == FAMILIES + 2, f"{len(tickets)} requests for {FAMILIES + 2} families"
        story = next(t.description for t in tickets if t.description.startswith("часть"))
        assert re.findall(r"часть \d", story) == parts, f"the story's parts out of order: {story!r}"

        wanted = {t.id for t in tickets}

        def posted() -> list[int]:
            return [int(n) for c in cards(emulator) for n in re.findall(r"#(\d+)", c.text or "")[:1]]

        await emulator.wait_for(lambda: wanted <= set(posted()), timeout=150)
        duplicates = len(posted()) - len(set(posted()))
        print(f"replicas: {duplicates} duplicate cards (a kill between a post and its record)")

        # Two coordinators press "take it" on one card at the same moment, through different replicas.
        card = cards(emulator)[0]
        emulator.webhook_targets = [b.hook]
        data = emulator.button_data(card, "Беру")
        before = len(emulator.callback_answers)
        emulator.callback(101, card.message_id, data, chat_id=GROUP)
        emulator.callback(102, card.message_id, data, chat_id=GROUP)
        await emulator.wait_for(lambda: len(emulator.callback_answers) >= before + 2, timeout=20)
        answers = [str(x.get("text") or "") for x in list(emulator.callback_answers.values())[-2:]]
        assert sum("ваша" in answer.lower() for answer in answers) == 1, answers
    finally:
        await asyncio.gather(a.stop(), b.stop())
