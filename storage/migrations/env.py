"""Alembic environment: uses the connection handed over by storage.db.migrate, or DATABASE_URL."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_standalone() -> None:
    # `alembic` from the command line (developers): connect with DATABASE_URL ourselves.
    from storage.db import create_engine  # noqa: PLC0415 - only needed on this path

    url = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///data/bot.sqlite3")

    async def go() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        await engine.dispose()

    asyncio.run(go())


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    _run_standalone()
