"""A family turn's hot statements, compiled once and run straight on a SQLite file's connection.

A new family's /start is five statements (the update id, the person, the chat's message id, the
dialog's state, the answer kept for a restart), each by key. SQLAlchemy's execution of each one (the
statement's cache key, the compiled cache, an execution context, a result) took about 40 µs of the
bot's CPU on the development machine; SQLite itself about 5 µs. In a burst (bench.burst) that was a
fifth of the CPU per update. A ``Hot`` statement is compiled by SQLAlchemy once, for its dialect and
the names of its values, and run with SQLAlchemy's own type processing (bind and result processors,
so what is written and read is exactly what ``Session.execute`` writes and reads) on the unit of
work's own connection, in its transaction, committed with it.

Only where that is the same thing as ``Session.execute``: a SQLite file (storage/sqlite_driver.py),
inside its unit of work's own transaction, with no ORM change pending (``Session.execute`` would
flush it first), and a statement whose values are all given, by the same names in every row (no
Python-side default or ``onupdate``, no expanding or escaped parameter). Anything else (PostgreSQL, a
memory database, a pending change) goes through ``Session.execute`` as before, with the same answer.
A write takes the process's one SQLite writer first (storage/writer.py ``WriteLock``), as every write
does. The statements are compiled from SQLAlchemy's private compiled form, hence the 2.1.x pin in
pyproject.toml; if that form changed, they would go through ``Session.execute`` (logged), and
tests/test_prepared.py would say so.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sqlite_driver import OneTripConnection, only_reads, run_one

log = logging.getLogger(__name__)

# In a unit of work's ``session.info``: how its statements reach the connection (``Database.uow``).
LANE = "storage.prepared.lane"

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Lane:
    """A SQLite file's unit of work: its connection, and how a write takes the process's writer."""

    driver: OneTripConnection
    dialect: Dialect
    claim: Callable[[], Any]  # awaitable: the writer is this unit of work's (at once if it is)
    transaction: Any  # the unit of work's (SessionTransaction): its statements go in no other; or None

    def current(self, session: AsyncSession) -> bool:
        """None: the connection is kept for the unit of work (storage/quick.py), whose transaction is
        the connection's own, whether SQLAlchemy began one on it or not."""
        return self.transaction is None or session.sync_session.get_transaction() is self.transaction


@dataclass(frozen=True)
class Ran:
    """What a statement answered: its rows (by column name) and how many rows it changed."""

    rows: list[dict[str, Any]]
    rowcount: int

    def first(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows else None

    def one(self) -> dict[str, Any]:
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in their places
    binds: tuple[Callable[[Any], Any] | None, ...]
    columns: tuple[str, ...]  # what a row answers
    results: tuple[Callable[[Any], Any] | None, ...]
    # Every parameter's value, the statement's own too; None: the values given are all of them.
    constructs: Callable[[Params], dict[str, Any]] | None
    writes: bool


class Hot:
    """One hot statement: ``build(dialect_name)`` gives it (built once a dialect)."""

    def __init__(self, build: Callable[[str], Any]) -> None:
        self._build = build
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled | None] = {}

    async def run(self, session: AsyncSession, params: Params | Sequence[Params]) -> Ran:
        """The statement with ``params`` (a list: once for each), in the unit of work of ``session``."""
        lane: Lane | None = session.info.get(LANE)
        first = params if isinstance(params, Mapping) else (params[0] if params else None)
        if lane is not None and first is not None and lane.current(session) and clean(session):
            compiled = self._compile(lane.dialect, first)
            if compiled is not None and (isinstance(params, Mapping) or _alike(params)):
                return await _run(lane, compiled, params)
        result = await session.execute(self._build(session.get_bind().dialect.name), params)
        if not isinstance(result, CursorResult):
            return Ran([dict(row) for row in result.mappings()], 0)
        rows = [dict(row) for row in result.mappings()] if result.returns_rows else []
        return Ran(rows, int(result.rowcount))

    def _compile(self, dialect: Dialect, params: Params) -> _Compiled | None:
        key = (dialect.name, frozenset(params))
        if key not in self._compiled:
            self._compiled[key] = _compile(self._build(dialect.name), dialect, sorted(params))
        return self._compiled[key]


def _alike(rows: Sequence[Params]) -> bool:
    """Every row of an executemany names the same values (else SQLAlchemy says which one is missing)."""
    keys = rows[0].keys()
    return all(row.keys() == keys for row in rows)


def clean(session: AsyncSession) -> bool:
    """No ORM change waits for a flush (``Session.execute`` would write it first)."""
    sync = session.sync_session
    return not (sync.new or sync.dirty or sync.deleted)


def _compile(statement: Any, dialect: Dialect, keys: list[str]) -> _Compiled | None:
    try:
        return _compiled(statement.compile(dialect=dialect, column_keys=keys), dialect, set(keys))
    except (AttributeError, TypeError):  # SQLAlchemy's compiled form changed: its own execution, then
        log.warning("a hot statement runs through SQLAlchemy's execution", exc_info=True)
        return None


def _compiled(compiled: Any, dialect: Dialect, keys: set[str]) -> _Compiled | None:
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
        or compiled.positiontup is None
    ):
        return None  # values SQLAlchemy makes at execution: its own execution does that
    names = tuple(compiled.positiontup)
    processors = compiled._bind_processors
    results = tuple(
        column.type._cached_result_processor(dialect, None) for column in compiled._result_columns
    )
    return _Compiled(
        sql=compiled.string,
        names=names,
        binds=tuple(processors.get(name) for name in names),
        columns=tuple(column.keyname for column in compiled._result_columns),
        results=results,
        constructs=None
        if keys.issuperset(names)
        else lambda given: compiled.construct_params(given, _check=False),
        writes=not only_reads(compiled.string),
    )


async def _run(lane: Lane, compiled: _Compiled, params: Params | Sequence[Params]) -> Ran:
    if compiled.writes:
        await lane.claim()
    given: Any = (
        [_positional(compiled, one) for one in params]
        if isinstance(params, Sequence)
        else _positional(compiled, params)
    )
    try:
        many = isinstance(params, Sequence)
        _description, rows, rowcount, _lastrowid = await lane.driver.trip(run_one, compiled.sql, given, many)
    except sqlite3.Error as exc:
        raise as_sqlalchemys(compiled.sql, exc, lane.dialect) from exc
    return Ran([_row(compiled, row) for row in rows], rowcount)


def as_sqlalchemys(sql: str, exc: sqlite3.Error, dialect: Dialect) -> StatementError:
    """SQLite's error as SQLAlchemy raises it (its IntegrityError, OperationalError, ...), never
    with the values."""
    return DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True, dialect=dialect)


def _positional(compiled: _Compiled, params: Params) -> tuple[Any, ...]:
    values = params if compiled.constructs is None else compiled.constructs(params)
    return tuple(
        [
            values[name] if process is None else process(values[name])
            for name, process in zip(compiled.names, compiled.binds, strict=True)
        ]
    )


def _row(compiled: _Compiled, row: Sequence[Any]) -> dict[str, Any]:
    return {
        name: value if process is None else process(value)
        for name, value, process in zip(compiled.columns, row, compiled.results, strict=True)
    }
