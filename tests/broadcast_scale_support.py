"""Many families at once for broadcasts through the real transports (and the benchmark).

Families are written straight into the database (consented, opted in): going through /start for
thousands of them would test the intake, not the broadcast.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import Application
from handlers.background import Job
from handlers.pacer import Limit
from storage.models import Broadcast, BroadcastRecipient, DialogStateRow, Person, utcnow
from storage.uow import Database
from storage.vocabulary import Platform

TEXT = "Раздача продуктовых наборов в субботу"


async def seed(db: Database, platform: Platform, user_ids: range | list[int], *, chunk: int = 5000) -> None:
    """Families who consented and opted in, in big transactions."""
    ids = list(user_ids)
    now = utcnow() - timedelta(days=2)  # at rest: their last turn long ago
    for start in range(0, len(ids), chunk):
        async with db.uow() as uow:
            keys = [f"{platform.value}:{uid}" for uid in ids[start : start + chunk]]
            # At the main menu, as after /start and consent (with no state, a first contact is greeted).
            uow.session.add_all(
                DialogStateRow(key=key, state="menu", data={}, updated_at=now) for key in keys
            )
            uow.session.add_all(
                Person(
                    key=f"{platform.value}:{uid}",
                    platform=platform.value,
                    locale="ru",
                    consent_version="test-1",
                    consent_at=now,
                    announcements=True,
                    reachable=True,
                )
                for uid in ids[start : start + chunk]
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
