"""Many families at once for broadcasts through the real transports (and the benchmark).

Families are written straight into the database (consented, opted in): going through /start for
thousands of them would test the intake, not the broadcast.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.app import Application
from bot.config import Settings
from handlers.background import Job
from handlers.pacer import Limit
from storage.models import Broadcast, BroadcastRecipient, DialogStateRow, Person, utcnow
from storage.uow import Database
from storage.vocabulary import Platform

ROOT = Path(__file__).resolve().parents[1]
TEXT = "Раздача продуктовых наборов в субботу"


async def seed(db: Database, platform: Platform, user_ids: range | list[int], *, chunk: int = 5000) -> None:
    """Families who consented and opted in, in big transactions."""
    ids = list(user_ids)
    now = utcnow() - timedelta(days=2)  # at rest: their last turn long ago
    for start in range(0, len(ids), chunk):
        async with db.uow() as uow:
            keys = [f"{platform.value}:{uid}" for uid in ids[start : start + chunk]]
            # At the main menu, as after /start and consent (with no state, a first contact is greeted).
            await uow.session.execute(
                insert(DialogStateRow),
                [{"key": k, "state": "menu", "data": {}, "updated_at": now} for k in keys],
            )
            await uow.session.execute(
                insert(Person),
                [
                    {
                        "key": k,
                        "platform": platform.value,
                        "locale": "ru",
                        "consent_version": "test-1",
                        "consent_at": now,
                        "announcements": True,
                        "reachable": True,
                    }
                    for k in keys
                ],
            )


async def announce(db: Database, admin: str, text: str = TEXT) -> int:
    """A broadcast to everyone who opted in, due now (what the wizard's "send now" writes)."""
    async with db.uow() as uow:
        row = await uow.broadcasts.create(admin, text, {"kind": "all", "value": ""}, utcnow())
        return row.id


def broadcast_job(app: Application) -> Job:
    assert app.background is not None
    return next(job for job in app.background.jobs if job.name == "broadcasts")


def unpace(app: Application, rate: int = 1000) -> None:
    """Platform budgets opened wide: a test of thousands must not take minutes (the bench keeps them)."""
    assert app.pacer is not None
    wide = Limit(rate, 1.0)
    app.pacer.settings = replace(
        app.pacer.settings, telegram_bot=wide, vk_token=wide, bulk=wide, telegram_private=wide
    )


async def drain(job: Job, db: Database, broadcast_id: int, *, seconds: float = 300) -> None:
    """Run the sender until the broadcast is done (the app's own ticks may run it beside us)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while await status_of(db, broadcast_id) != "done":
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the broadcast did not finish")
        if not await job.run_once(utcnow()):
            await asyncio.sleep(0.05)  # another runner's call is in flight: its result comes


async def statuses(db: Database, broadcast_id: int) -> Counter[str]:
    async with db.uow() as uow:
        stmt = (
            select(BroadcastRecipient.status, func.count())
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
            .group_by(BroadcastRecipient.status)
        )
        return Counter({status: int(n) for status, n in (await uow.session.execute(stmt)).all()})


async def status_of(db: Database, broadcast_id: int) -> str:
    async with db.uow() as uow:
        row = await uow.session.get(Broadcast, broadcast_id)
        assert row is not None
        return row.status


async def unreachable_people(db: Database) -> set[str]:
    async with db.uow() as uow:
        return set((await uow.session.scalars(select(Person.key).where(Person.reachable.is_(False)))).all())


def report_numbers(text: str) -> dict[str, int]:
    """The final report's lines, by their first word ("Доставлено: 12" -> {"Доставлено": 12})."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)[^:\n]*: (\d+)$", text, re.MULTILINE)}


class BotProcess:
    """``python -m bot`` as an operating system process, SIGKILLed and started again."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        # Only what the test says: none of this machine's own settings reach the bot.
        contract = {name.upper() for name in Settings.model_fields}
        self.env = {k: v for k, v in os.environ.items() if k not in contract} | {
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None

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

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), timeout=40)
