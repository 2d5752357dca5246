"""The sandbox's sample directory of help: a few entries so that "Useful contacts" and /resource work.

The database's migrations put in the national lines shipped with the bot (112, the children's
helpline); the samples go after them, marked as samples, with made-up numbers (a real directory is the
organisation's own, entered by its admin). They are added only when the sandbox's database is new
(the first run, or ``--reset``), so an admin's edits, and removals, stay.
"""

from __future__ import annotations

from typing import Any

from storage.db import create_engine, migrate_when_reachable
from storage.uow import Database

SAMPLES: tuple[dict[str, Any], ...] = (
    {
        "name_ru": "Юридическая консультация для семей (пример)",
        "name_en": "Legal advice for families (sample)",
        "about_ru": "Алименты, пособия, опека: бесплатная консультация юриста.",
        "about_en": "Child support, benefits, guardianship: free advice from a lawyer.",
        "categories": ["legal"],
        "regions": [],
        "phone": "+7 900 000-00-01",
        "hours_ru": "пн–пт 10:00–18:00",
        "hours_en": "Mon–Fri 10:00–18:00",
    },
    {
        "name_ru": "Психологическая поддержка (пример)",
        "name_en": "Psychological support (sample)",
        "about_ru": "Разговор с психологом для родителей и детей.",
        "about_en": "A talk with a psychologist for parents and children.",
        "categories": ["psychological"],
        "regions": [],
        "phone": "+7 900 000-00-02",
        "hours_ru": "ежедневно 9:00–21:00",
        "hours_en": "daily 9:00–21:00",
    },
    {
        "name_ru": "Пункт гуманитарной помощи (пример)",
        "name_en": "Humanitarian aid point (sample)",
        "about_ru": "Продукты, одежда, детские вещи.",
        "about_en": "Food, clothes, things for children.",
        "categories": ["humanitarian"],
        "regions": ["msk", "spb"],
        "phone": "+7 900 000-00-03",
        "address": "ул. Примерная, 1",
        "hours_ru": "вт, чт 12:00–19:00",
        "hours_en": "Tue, Thu 12:00–19:00",
    },
)


async def seed_directory(database_url: str) -> int:
    """Add the samples to a new database (its migrations put the shipped national lines in first).

    Run before the bot starts: the bot reads the directory once and keeps it a while.
    """
    db = Database(create_engine(database_url))
    try:
        await migrate_when_reachable(db.engine)
        async with db.uow() as uow:
            for values in SAMPLES:
                await uow.resources.save(None, dict(values))
    finally:
        await db.dispose()
    return len(SAMPLES)
