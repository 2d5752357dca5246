"""Repositories: every SQL statement of the project lives here (and in the migrations)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict

from storage.models import (
    Cursor,
    DialogStateRow,
    MaxMessageId,
    Person,
    Ticket,
    TicketEntry,
    TicketPost,
    utcnow,
)
from storage.prepared import Hot
from storage.vocabulary import OPEN_STATUSES, Platform, TicketStatus


def dialect_insert(session: AsyncSession, model: type[Any]) -> Any:
    """A dialect-specific INSERT that supports ON CONFLICT (SQLite and PostgreSQL both do)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def table_insert(dialect: str, table: Table) -> Any:
    """A Core INSERT on ``table`` that supports ON CONFLICT, for statements built once per dialect.

    The hot statements of a turn are Core statements on the mapped tables, built once (``cache``) and
    given their values as parameters: building them anew, and the ORM's bulk-insert path, were a
    large part of a turn's CPU in a burst of new families (issue 13)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


PEOPLE = cast(Table, Person.__table__)
DIALOG_STATES = cast(Table, DialogStateRow.__table__)


@cache
def _person_upsert(dialect: str) -> Any:
    stmt = table_insert(dialect, PEOPLE)
    # A conflict rewrites the key with itself, so the existing row comes back unchanged.
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"key": stmt.excluded.key})
    return stmt.returning(*PEOPLE.c)


@cache
def _dialog_upsert(dialect: str) -> Any:
    stmt = table_insert(dialect, DIALOG_STATES)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["key"], set_={"state": new.state, "data": new.data, "updated_at": new.updated_at}
    )


@cache
def _dialog_state() -> Any:
    t = DIALOG_STATES
    return select(t.c.state, t.c.data).where(t.c.key == bindparam("b_key"))


@cache
def _tickets_of() -> Any:
    """A person's latest tickets (read for every turn of a family that has any): built once."""
    mine = Ticket.person_id == bindparam("b_person")
    return select(Ticket).where(mine).order_by(Ticket.id.desc()).limit(bindparam("b_limit"))


# A turn's hot statements (storage/prepared.py).
_PERSON_UPSERT = Hot(_person_upsert)
_PERSON_MAPPER = Person.__mapper__
_DIALOG_STATE = Hot(lambda _dialect: _dialog_state())
_DIALOG_UPSERT = Hot(_dialog_upsert)


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, key: str) -> Person | None:
        return await self._s.scalar(select(Person).where(Person.key == key))

    async def by_id(self, person_id: int) -> Person | None:
        return await self._s.get(Person, person_id)

    async def get_or_create(self, key: str, platform: Platform, locale: str) -> tuple[Person, bool]:
        """Return the person and whether they were just created; safe against a concurrent insert.

        One statement whether they are new or not: an upsert that returns the row (a conflict
        rewrites the key with itself, so the existing row comes back unchanged). The row is new when
        it carries the creation time given here."""
        now = utcnow()
        values: dict[str, Any] = {"key": key, "platform": platform.value, "locale": locale}
        values |= {"announcements": False, "reachable": True, "created_at": now, "updated_at": now}
        # Session.execute autoflushes before a Core statement too (SQLAlchemy #9809): a person renamed
        # in this unit of work is written before the upsert looks for the key (tested).
        row = (await _PERSON_UPSERT.run(self._s, values)).one()
        created = row["created_at"].replace(tzinfo=None) == now.replace(tzinfo=None)
        return self._attach(row), created

    def _attach(self, columns: dict[str, Any]) -> Person:
        """The person of a row read with Core, as the session's own object: changes to it (a locale, a
        consent) are written at the commit. Cheaper than the ORM's insert-returning-entity path."""
        known = self._s.identity_map.get(_PERSON_MAPPER.identity_key_from_primary_key((columns["id"],)))
        if isinstance(known, Person):
            return known  # already loaded in this unit of work: that object is the person
        # Filled as SQLAlchemy's loading fills a row's object, not through ``Person(**columns)``, whose
        # every attribute set is an instrumented event with history kept: half of attaching a person,
        # 4% of the CPU in a burst of /start (py-spy). The same state either way (tested).
        if not _PERSON_MAPPER.configured:
            configure_mappers()  # what Person() would do first
        person: Person = _PERSON_MAPPER.class_manager.new_instance()
        instance_dict(person).update(columns)
        make_transient_to_detached(person)  # as if loaded: no pending changes
        self._s.add(person)
        return person

    async def set_locale(self, person: Person, locale: str) -> None:
        person.locale = locale

    async def give_consent(self, person: Person, version: str, at: datetime) -> None:
        person.consent_version = version
        person.consent_at = at

    async def set_announcements(self, person: Person, enabled: bool) -> None:
        person.announcements = enabled

    async def set_region(self, person: Person, region: str | None) -> None:
        person.region = region

    async def set_reachable(self, key: str, reachable: bool) -> None:
        await self._s.execute(update(Person).where(Person.key == key).values(reachable=reachable))

    async def anonymise(self, person: Person) -> None:
        """Replace identifiers and drop everything personal; the row stays for statistics."""
        person.key = f"deleted:{person.id}"
        person.region = None
        person.consent_version = None
        person.consent_at = None
        person.announcements = False
        person.reachable = False
        person.deleted_at = utcnow()


class TicketsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def create(self, **fields: Any) -> Ticket:
        ticket = Ticket(**{"status": TicketStatus.NEW.value, **fields})
        self._s.add(ticket)
        await self._s.flush()
        return ticket

    async def for_person(self, person_id: int, limit: int = 20) -> Sequence[Ticket]:
        return (await self._s.scalars(_tickets_of(), {"b_person": person_id, "b_limit": limit})).all()

    async def get_for_person(self, person_id: int, ticket_id: int) -> Ticket | None:
        stmt = select(Ticket).where(Ticket.id == ticket_id, Ticket.person_id == person_id)
        return await self._s.scalar(stmt)

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self._s.get(Ticket, ticket_id, populate_existing=True)

    async def _change(
        self, ticket_id: int, chat: str, status: TicketStatus, values: dict[str, Any], *also: Any
    ) -> bool:
        """Change a ticket of this chat only if it is in ``status``: one conditional UPDATE decides."""
        stmt = (
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.chat == chat, Ticket.status == status.value, *also)
            .values(values)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def claim(self, ticket_id: int, chat: str, actor: str, actor_name: str, at: datetime) -> bool:
        """Exactly one coordinator wins: only a new ticket can be claimed."""
        values = {"status": TicketStatus.CLAIMED.value, "assignee": actor, "assignee_name": actor_name}
        return await self._change(
            ticket_id, chat, TicketStatus.NEW, values | {"claimed_at": at, "updated_at": at}
        )

    async def release(self, ticket_id: int, chat: str, at: datetime) -> bool:
        values = {
            "status": TicketStatus.NEW.value,
            "assignee": None,
            "assignee_name": None,
            "claimed_at": None,
        }
        return await self._change(ticket_id, chat, TicketStatus.CLAIMED, values | {"updated_at": at})

    async def close(self, ticket_id: int, chat: str, outcome: str, note: str | None, at: datetime) -> bool:
        values = {"status": TicketStatus.CLOSED.value, "outcome": outcome, "outcome_note": note}
        return await self._change(
            ticket_id, chat, TicketStatus.CLAIMED, values | {"closed_at": at, "updated_at": at}
        )

    async def reopen(self, ticket_id: int, chat: str, at: datetime) -> bool:
        """Back to the coordinator who had it (one specialist per family)."""
        values: dict[str, Any] = {"status": TicketStatus.CLAIMED.value, "outcome": None, "outcome_note": None}
        values |= {"closed_at": None, "updated_at": at}
        return await self._change(ticket_id, chat, TicketStatus.CLOSED, values, Ticket.assignee.is_not(None))

    async def transfer(
        self,
        ticket_id: int,
        chat: str,
        *,
        category: str,
        region_code: str | None,
        region: str | None,
        moves: bool,
    ) -> bool:
        """A claimed ticket changes its kind or region; moving to another chat makes it wait there anew."""
        values: dict[str, Any] = {"category": category, "region_code": region_code, "region": region}
        if moves:
            values |= {"status": TicketStatus.NEW.value, "assignee": None, "assignee_name": None}
            values |= {"claimed_at": None, "chat": None, "announced_at": None}
        return await self._change(ticket_id, chat, TicketStatus.CLAIMED, values)

    async def wrote(self, ticket_id: int, *, family: bool, at: datetime) -> None:
        column = "family_wrote_at" if family else "coordinator_wrote_at"
        await self._s.execute(update(Ticket).where(Ticket.id == ticket_id).values({column: at}))

    async def unclaimed_since(self, before: datetime, *, urgent: bool) -> Sequence[Ticket]:
        """Still waiting (posted or not), and not (re-)announced since ``before``."""
        stmt = select(Ticket).where(
            Ticket.status == TicketStatus.NEW.value,
            Ticket.urgent.is_(urgent),
            func.coalesce(Ticket.announced_at, Ticket.created_at) < before,
        )
        return (await self._s.scalars(stmt.order_by(Ticket.id))).all()

    async def announce(self, ticket_id: int, before: datetime, at: datetime) -> bool:
        """Take the re-announcement of one ticket: exactly once across ticks and replicas."""
        stmt = (
            update(Ticket)
            .where(
                Ticket.id == ticket_id,
                Ticket.status == TicketStatus.NEW.value,
                func.coalesce(Ticket.announced_at, Ticket.created_at) < before,
            )
            .values(announced_at=at)
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def set_chat(self, ticket_id: int, chat: str) -> None:
        await self._s.execute(update(Ticket).where(Ticket.id == ticket_id).values(chat=chat))

    async def withdraw(self, person_id: int, ticket_id: int) -> bool:
        """Withdraw an open ticket of this person; one conditional UPDATE decides."""
        stmt = (
            update(Ticket)
            .where(
                Ticket.id == ticket_id,
                Ticket.person_id == person_id,
                Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .values(status=TicketStatus.WITHDRAWN.value, closed_at=utcnow(), updated_at=utcnow())
        )
        return rowcount(await self._s.execute(stmt)) == 1

    async def add_entry(self, ticket_id: int, author: str, text: str, attachments: list[Any]) -> TicketEntry:
        entry = TicketEntry(ticket_id=ticket_id, author=author, text=text, attachments=attachments)
        self._s.add(entry)
        await self._s.execute(update(Ticket).where(Ticket.id == ticket_id).values(updated_at=utcnow()))
        await self._s.flush()
        return entry

    async def entry(self, entry_id: int) -> TicketEntry | None:
        return await self._s.get(TicketEntry, entry_id)

    async def erase_for_person(self, person_id: int) -> int:
        """Remove free texts, files and phone numbers of a person's tickets; open ones are withdrawn."""
        ids = select(Ticket.id).where(Ticket.person_id == person_id).scalar_subquery()
        await self._s.execute(delete(TicketEntry).where(TicketEntry.ticket_id.in_(ids)))
        await self._s.execute(
            update(Ticket)
            .where(Ticket.person_id == person_id, Ticket.status.in_([s.value for s in OPEN_STATUSES]))
            .values(status=TicketStatus.WITHDRAWN.value, closed_at=utcnow())
        )
        result = await self._s.execute(
            update(Ticket)
            .where(Ticket.person_id == person_id)
            .values(
                description="", attachments=[], phone=None, region=None, region_code=None, updated_at=utcnow()
            )
        )
        return rowcount(result)


class DialogStateStore:
    """Persistent dialog state: one row per person, written with an upsert so two writes never race."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def load(self, key: str) -> tuple[str, dict[str, Any]] | None:
        row = (await _DIALOG_STATE.run(self._s, {"b_key": key})).first()
        return None if row is None else (row["state"], dict(row["data"]))

    async def updated_at(self, key: str) -> datetime | None:
        """When the person last moved in their dialog (a system event may wait for an active one)."""
        t = DIALOG_STATES
        return await self._s.scalar(select(t.c.updated_at).where(t.c.key == key))

    async def save(self, key: str, state: str, data: dict[str, Any]) -> None:
        values = {"key": key, "state": state, "data": data, "updated_at": utcnow()}
        await _DIALOG_UPSERT.run(self._s, values)

    async def delete(self, key: str) -> None:
        await self._s.execute(delete(DialogStateRow).where(DialogStateRow.key == key))


class CursorStore:
    """Where each transport stopped reading updates: written with an upsert, read at start."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def load(self, name: str) -> str | None:
        row = await self._s.get(Cursor, name, populate_existing=True)
        return None if row is None else row.value

    async def save(self, name: str, value: str) -> None:
        now = utcnow()
        stmt = dialect_insert(self._s, Cursor).values(name=name, value=value, updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": now})
        await self._s.execute(stmt)


class MaxMessageIds:
    """MAX's text message ids behind our integer ones: written once, read for edits and deletes."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def remember(self, pairs: dict[int, str]) -> None:
        if not pairs:
            return
        now = utcnow()
        rows = [{"id": key, "mid": mid, "created_at": now} for key, mid in pairs.items()]
        stmt = (
            dialect_insert(self._s, MaxMessageId).values(rows).on_conflict_do_nothing(index_elements=["id"])
        )
        await self._s.execute(stmt)

    async def mids(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        result = await self._s.execute(
            select(MaxMessageId.id, MaxMessageId.mid).where(MaxMessageId.id.in_(ids))
        )
        return {int(key): str(mid) for key, mid in result.all()}

    async def prune(self, before: datetime, limit: int = 5000) -> int:
        """Forget ids written before ``before`` (at most ``limit`` a call), except those of cards in MAX
        chats: a card is edited at any age (taken, closed), and MAX edits a chat's messages at any age."""
        cards = select(TicketPost.message_id).where(TicketPost.chat.like("max:%"))
        old = (
            select(MaxMessageId.id)
            .where(MaxMessageId.created_at < before, MaxMessageId.id.not_in(cards))
            .limit(limit)
        )
        return rowcount(await self._s.execute(delete(MaxMessageId).where(MaxMessageId.id.in_(old))))
