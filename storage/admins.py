"""Admins added by an admin (``/admins``), beside ``ADMIN_IDS``, which stays the root of trust: its
model and its SQL. (A module of its own: ``storage.models`` is already long.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class StoredAdmin(Base):
    __tablename__ = "admins"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # a person key: tg:123, vk:456
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime]


class AdminsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def keys(self) -> Sequence[str]:
        return (await self._s.scalars(select(StoredAdmin.key).order_by(StoredAdmin.added_at))).all()

    async def add(self, key: str, by: str, at: datetime) -> bool:
        """False when ``key`` is already an admin here."""
        if await self._s.get(StoredAdmin, key) is not None:
            return False
        self._s.add(StoredAdmin(key=key, added_by=by, added_at=at))
        await self._s.flush()
        return True

    async def remove(self, key: str) -> bool:
        result = await self._s.execute(delete(StoredAdmin).where(StoredAdmin.key == key))
        return bool(getattr(result, "rowcount", 0))
