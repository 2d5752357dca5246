"""Repositories of the coordinators' side: card posts, relayed messages, chat migrations, audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEntry,
    ChatBinding,
    ChatMigration,
    DepartedMember,
    RelayedMessage,
    Ticket,
    TicketPost,
    utcnow,
)
from storage.repositories import dialect_insert, rowcount


class ChatMigrations:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def follow(self, chat: str) -> str:
        """The chat's current id: a migrated group's supergroup, however many times it moved."""
        seen = {chat}
        while (moved := await self._s.get(ChatMigration, chat)) is not None and moved.new_chat not in seen:
            chat = moved.new_chat
            seen.add(chat)
        return chat

    async def record(self, old: str, new: str) -> list[int]:
        """Follow a migrated chat; return the open tickets that now need their card in the new chat.

        Message ids are not carried over by Telegram, so old cards stay recorded under the old chat.
        """
        moving = select(Ticket.id).where(Ticket.chat == old, Ticket.status.in_(["new", "claimed"]))
        open_ids = list((await self._s.scalars(moving)).all())
        stmt = dialect_insert(self._s, ChatMigration).values(old_chat=old, new_chat=new, at=utcnow())
        await self._s.execute(stmt.on_conflict_do_update(index_elements=["old_chat"], set_={"new_chat": new}))
        await self._s.execute(update(Ticket).where(Ticket.chat == old).values(chat=new))
        await self._s.execute(update(ChatBinding).where(ChatBinding.chat == old).values(chat=new))
        await self._s.execute(update(DepartedMember).where(DepartedMember.chat == old).values(chat=new))
        return open_ids


class BindingsRepository:
    """Which coordinators' chat takes which region and category."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, chat: str, region_code: str | None, category: str | None, by: str) -> bool:
        # NULLs never clash in a unique index: look first, so "any" is not stored twice.
        same = select(ChatBinding.id).where(
            ChatBinding.chat == chat,
            ChatBinding.region_code.is_(None)
            if region_code is None
            else ChatBinding.region_code == region_code,
            ChatBinding.category.is_(None) if category is None else ChatBinding.category == category,
        )
        if await self._s.scalar(same.limit(1)) is not None:
            return False
        stmt = (
            dialect_insert(self._s, ChatBinding)
            .values(chat=chat, region_code=region_code, category=category, created_by=by, created_at=utcnow())
            .on_conflict_do_nothing()
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def remove(self, binding_id: int, chat: str) -> bool:
        stmt = delete(ChatBinding).where(ChatBinding.id == binding_id, ChatBinding.chat == chat)
        return rowcount(await self._s.execute(stmt)) == 1

    async def any(self) -> bool:
        return await self._s.scalar(select(ChatBinding.id).limit(1)) is not None

    async def of_chat(self, chat: str) -> Sequence[ChatBinding]:
        stmt = select(ChatBinding).where(ChatBinding.chat == chat).order_by(ChatBinding.id)
        return (await self._s.scalars(stmt)).all()

    async def route(self, region_code: str | None, category: str) -> str | None:
        """The most specific binding: region and category, then category, then region, then "any"."""
        stmt = select(ChatBinding).where(
            or_(ChatBinding.category == category, ChatBinding.category.is_(None)),
            or_(ChatBinding.region_code == region_code, ChatBinding.region_code.is_(None)),
        )
        candidates = (await self._s.scalars(stmt)).all()
        if not candidates:
            return None
        best = max(
            candidates,
            key=lambda b: (
                b.category is not None and b.region_code is not None,
                b.category is not None,
                -b.id,
            ),
        )
        return best.chat


class PostsRepository:
    """Where each ticket's card stands in coordinators' chats."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, ticket_id: int, chat: str, message_id: int, thread_id: int | None = None) -> None:
        self._s.add(TicketPost(ticket_id=ticket_id, chat=chat, message_id=message_id, thread_id=thread_id))
        await self._s.flush()

    async def ticket_of_thread(self, chat: str, thread_id: int) -> int | None:
        stmt = select(TicketPost.ticket_id).where(TicketPost.chat == chat, TicketPost.thread_id == thread_id)
        return await self._s.scalar(stmt.limit(1))

    async def ticket_of(self, chat: str, message_id: int) -> int | None:
        stmt = select(TicketPost.ticket_id).where(
            TicketPost.chat == chat, TicketPost.message_id == message_id
        )
        return await self._s.scalar(stmt.limit(1))

    async def card(self, ticket_id: int, chat: str) -> TicketPost | None:
        stmt = (
            select(TicketPost)
            .where(TicketPost.ticket_id == ticket_id, TicketPost.chat == chat)
            .order_by(TicketPost.id.desc())
            .limit(1)
        )
        return await self._s.scalar(stmt)


class RelayLog:
    """Which group message stands for which family message, both ways."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self, ticket_id: int, direction: str, group: tuple[str, int], family: tuple[str, int]
    ) -> None:
        self._s.add(
            RelayedMessage(
                ticket_id=ticket_id,
                direction=direction,
                group_chat=group[0],
                group_message_id=group[1],
                family_chat=family[0],
                family_message_id=family[1],
            )
        )
        await self._s.flush()

    async def by_group_message(self, chat: str, message_id: int) -> RelayedMessage | None:
        stmt = select(RelayedMessage).where(
            RelayedMessage.group_chat == chat, RelayedMessage.group_message_id == message_id
        )
        return await self._s.scalar(stmt.limit(1))

    async def by_family_message(self, chat: str, message_id: int) -> RelayedMessage | None:
        stmt = select(RelayedMessage).where(
            RelayedMessage.family_chat == chat, RelayedMessage.family_message_id == message_id
        )
        return await self._s.scalar(stmt.limit(1))

    async def copies_of_family(self, family_chat: str) -> list[tuple[int, str, int]]:
        """(ticket, group chat, group message) of every family message copied into a thread."""
        stmt = select(
            RelayedMessage.ticket_id, RelayedMessage.group_chat, RelayedMessage.group_message_id
        ).where(RelayedMessage.family_chat == family_chat, RelayedMessage.direction == "in")
        return [(t, c, m) for t, c, m in (await self._s.execute(stmt)).all()]

    async def forget_family(self, family_chat: str) -> None:
        await self._s.execute(delete(RelayedMessage).where(RelayedMessage.family_chat == family_chat))


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self,
        actor: str,
        action: str,
        *,
        ticket_id: int | None = None,
        chat: str | None = None,
        actor_name: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._s.add(
            AuditEntry(
                actor=actor,
                actor_name=actor_name,
                action=action,
                ticket_id=ticket_id,
                chat=chat,
                details=details or {},
                at=utcnow(),
            )
        )
        await self._s.flush()

    async def has(self, ticket_id: int, actor: str, action: str) -> bool:
        stmt = select(AuditEntry.id).where(
            AuditEntry.ticket_id == ticket_id, AuditEntry.actor == actor, AuditEntry.action == action
        )
        return await self._s.scalar(stmt.limit(1)) is not None

    async def for_ticket(self, ticket_id: int) -> Sequence[AuditEntry]:
        stmt = select(AuditEntry).where(AuditEntry.ticket_id == ticket_id).order_by(AuditEntry.id)
        return (await self._s.scalars(stmt)).all()


class MembersRepository:
    """Who left a coordinators' chat (a row) and so is no longer active there; coming back removes it."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def left(self, chat: str, member: str, at: datetime) -> bool:
        """False when already recorded (Telegram tells it twice: a service message and chat_member)."""
        stmt = dialect_insert(self._s, DepartedMember).values(chat=chat, member=member, left_at=at)
        return rowcount(await self._s.execute(stmt.on_conflict_do_nothing())) == 1

    async def returned(self, chat: str, member: str) -> bool:
        stmt = delete(DepartedMember).where(DepartedMember.chat == chat, DepartedMember.member == member)
        return rowcount(await self._s.execute(stmt)) == 1

    async def active(self, chat: str, member: str) -> bool:
        """Still in the chat, as far as we were told (nobody is recorded as gone until they leave)."""
        return await self._s.get(DepartedMember, (chat, member), populate_existing=True) is None
