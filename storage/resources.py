"""The directory of help: its SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HelpResource

COLUMNS = (
    "name_ru",
    "name_en",
    "about_ru",
    "about_en",
    "categories",
    "regions",
    "phone",
    "address",
    "hours_ru",
    "hours_en",
    "link",
)


class ResourcesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def all(self) -> Sequence[HelpResource]:
        return (await self._s.scalars(select(HelpResource).order_by(HelpResource.id))).all()

    async def get(self, resource_id: int) -> HelpResource | None:
        return await self._s.get(HelpResource, resource_id)

    async def save(self, resource_id: int | None, values: dict[str, Any]) -> HelpResource | None:
        """Insert (no id) or update; None when the row to update is gone (removed meanwhile)."""
        fields = {k: v for k, v in values.items() if k in COLUMNS}
        if resource_id is None:
            row = HelpResource(**fields)
            self._s.add(row)
            await self._s.flush()
            return row
        found = await self.get(resource_id)
        if found is None:
            return None
        for key, value in fields.items():
            setattr(found, key, value)
        await self._s.flush()
        return found

    async def remove(self, resource_id: int) -> bool:
        row = await self.get(resource_id)
        if row is None:
            return False
        await self._s.delete(row)
        await self._s.flush()
        return True

    async def replace_all(self, rows: Sequence[dict[str, Any]]) -> None:
        """The whole directory at once (an import): in the caller's transaction, so all or nothing."""
        await self._s.execute(delete(HelpResource))
        self._s.add_all(HelpResource(**{k: v for k, v in row.items() if k in COLUMNS}) for row in rows)
        await self._s.flush()
