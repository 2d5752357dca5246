"""Waiting for what the bot records about coordinators coming and going (no conversation turn to wait for)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.app import Application
from storage.models import AuditEntry


async def audited(app: Application, action: str, count: int = 1, timeout: float = 10.0) -> None:
    """Until the audit log holds ``count`` entries of ``action``."""
    assert app.db is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with app.db.uow() as uow:
            actions = (await uow.session.scalars(select(AuditEntry.action))).all()
        if actions.count(action) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {action!r} in the audit log")


async def active(app: Application, chat: str, member: str) -> bool:
    assert app.db is not None
    async with app.db.uow() as uow:
        return await uow.members.active(chat, member)
