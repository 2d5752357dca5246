"""Unit of work: one transaction per use-case, with every repository bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import session_factory
from storage.desk import AuditLog, BindingsRepository, ChatMigrations, PostsRepository, RelayLog
from storage.logs import ChatLog, OutboxRepository, UpdateLog
from storage.repositories import CursorStore, DialogStateStore, PeopleRepository, TicketsRepository


class UnitOfWork:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.people = PeopleRepository(session)
        self.tickets = TicketsRepository(session)
        self.outbox = OutboxRepository(session)
        self.dialogs = DialogStateStore(session)
        self.updates = UpdateLog(session)
        self.chat_log = ChatLog(session)
        self.posts = PostsRepository(session)
        self.audit = AuditLog(session)
        self.relay = RelayLog(session)
        self.migrations = ChatMigrations(session)
        self.bindings = BindingsRepository(session)
        self.cursors = CursorStore(session)


class Database:
    """Owns the session factory; ``async with db.uow() as uow`` commits on success, rolls back on error."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions: async_sessionmaker[Any] = session_factory(engine)

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[UnitOfWork]:
        async with self._sessions() as session, session.begin():
            yield UnitOfWork(session)

    async def dispose(self) -> None:
        await self.engine.dispose()
