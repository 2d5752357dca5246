"""Where each transport stopped reading its platform's updates: saved after they are handled."""

from __future__ import annotations

from storage.uow import Database


class Cursors:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, name: str) -> str | None:
        async with self._db.uow() as uow:
            return await uow.cursors.load(name)

    async def save(self, name: str, value: str) -> None:
        async with self._db.uow() as uow:
            await uow.cursors.save(name, value)
