"""Engine creation and migrations. Nothing here runs at import time."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage import jsontext
from storage.sqlite_driver import PATIENCE_MS, one_trip_creator

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_POOL = 5  # connections to a SQLite file (see create_engine)
POSTGRES_POOL = 10  # connections to PostgreSQL, a replica (see create_engine)
WAL_FILE_LIMIT = 16 * 1024 * 1024  # bytes a SQLite WAL file keeps once it starts over


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, one_trip: bool = False) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the scheduler and update handlers read while one writes; busy_timeout makes a
    # second writer wait for the lock instead of failing at once (a file's connections wait only
    # when a first try found the file locked: storage/sqlite_driver.py).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={0 if one_trip else PATIENCE_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if one_trip:
        # A commit never copies the WAL into the file (which waits for the disk), so a family's turn
        # may commit on the event loop's thread; ``Database.checkpoint`` does it off the loop instead,
        # every second (handlers/housekeeping.py: WalCheckpoint).
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        # When the WAL starts over, a file grown past this (a burst) is cut back to it.
        cursor.execute(f"PRAGMA journal_size_limit={WAL_FILE_LIMIT}")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine; for a SQLite file, create its folder and turn WAL on.

    ``hide_parameters``: a database error must not copy a family's story or phone into the log.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            private_file(Path(database).expanduser())
        # A file: one trip to aiosqlite's thread per statement (storage/sqlite_driver.py). Memory and
        # URI databases keep aiosqlite's own connect (their pooling is SQLAlchemy's business).
        one_trip = database not in (None, "", ":memory:") and not parsed.query
        # Its pool keeps SQLITE_POOL connections and opens no more: writes take turns anyway
        # (storage/writer.py; one connection is kept for families' turns: storage/quick.py), and an
        # overflow connection was opened and closed again and again in a burst (a thread, the file,
        # its pragmas: 6% of the CPU; bench.burst 2.1 -> 1.8 ms an update).
        creator: dict[str, Any] = (
            {"async_creator": one_trip_creator(parsed), "pool_size": SQLITE_POOL, "max_overflow": 0}
            if one_trip
            else {}
        )
        engine = create_async_engine(url, hide_parameters=True, json_serializer=jsontext.dumps, **creator)
        event.listen(
            engine.sync_engine,
            "connect",
            functools.partial(_sqlite_pragmas, one_trip=one_trip),
        )
        return engine
    # PostgreSQL: POSTGRES_POOL connections kept, none opened beyond them. With SQLAlchemy's default
    # (5, and 10 more on demand) a burst opened and closed connections all the time: each a new server
    # process, with its prepared statements lost (bench.burst: 0.34 of the echo's rate -> 0.42-0.47).
    return create_async_engine(
        url,
        pool_pre_ping=True,
        hide_parameters=True,
        json_serializer=jsontext.dumps,
        pool_size=POSTGRES_POOL,
        max_overflow=0,
    )


def private_file(path: Path) -> None:
    """The SQLite file holds families' stories and phones: readable by its owner only (0600), in a
    folder only its owner can open (0700) when we create that folder. An existing folder is left
    as it is (it may be the working directory); an existing file of ours is narrowed to 0600.
    SQLite gives its -wal and -shm files the database file's permissions."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        folder.chmod(0o700)  # whatever the umask; parents made on the way keep the usual mode
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_uid == os.geteuid() and path.stat().st_mode & 0o077:
        path.chmod(0o600)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


# Replicas starting together: one migrates, the others wait for it (then find nothing to do).
MIGRATION_LOCK = 7_305_001


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until this transaction ends, so until the migrations are committed.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    from alembic import command  # noqa: PLC0415 - see migrate

    command.upgrade(_alembic_config(connection), "head")


_REVISION = re.compile(r"^(down_revision|revision)\b[^=\n]*=\s*(?:'([^']+)'|\"([^\"]+)\"|None)", re.MULTILINE)


def head_revision() -> str | None:
    """The newest migration's id, read from the files of ``migrations/versions`` as text (the history
    is one line: each migration names the one before it); None when that cannot be told for sure."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {name: one or two for name, one, two in _REVISION.findall(path.read_text(encoding="utf-8"))}
        if not found.get("revision") or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def _at_head(engine: AsyncEngine) -> bool:
    head = head_revision()
    if head is None:
        return False
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except (OperationalError, ProgrammingError):
        return False  # no such table yet: a new database
    return list(versions) == [head]


async def migrate(engine: AsyncEngine) -> None:
    """Apply every Alembic migration up to head (idempotent).

    A database already at head (every restart but the first after an upgrade) is told by one query,
    without importing Alembic, which would stay in the bot's memory for its life (11 MiB of it)."""
    if not await _at_head(engine):
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    log.info("database schema is up to date")


class DatabaseRefusedError(Exception):
    """The database answers but refuses us (a wrong password, no such database): retrying will not help."""


async def migrate_when_reachable(
    engine: AsyncEngine, *, first_delay: float = 1.0, max_delay: float = 60.0
) -> None:
    """``migrate``, waiting for a database that is not up yet: one log line a try, never a traceback,
    and never the URL (it may carry a password). A refusal raises DatabaseRefusedError."""
    delay = first_delay
    while True:
        try:
            await migrate(engine)
            return
        except (OSError, TimeoutError) as exc:
            reason = type(exc).__name__
        except DBAPIError as exc:
            if not _unreachable(exc):
                raise DatabaseRefusedError(
                    type(exc.orig).__name__ if exc.orig else type(exc).__name__
                ) from None
            reason = type(exc.orig).__name__ if exc.orig else type(exc).__name__
        log.warning(
            "the database cannot be reached yet (%s at %s); retrying in %.0fs", reason, _host(engine), delay
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


def _unreachable(exc: DBAPIError) -> bool:
    """Connection problems are worth waiting for; an authentication or a missing database is not."""
    original = exc.orig
    if isinstance(original, OSError | TimeoutError) or exc.connection_invalidated:
        return True
    name = type(original).__name__ if original is not None else ""
    return name in {"CannotConnectNowError", "ConnectionDoesNotExistError", "TooManyConnectionsError"} or (
        isinstance(exc, OperationalError) and "could not connect" in str(original).lower()
    )


def _host(engine: AsyncEngine) -> str:
    url = engine.url
    return f"{url.host}:{url.port}" if url.host else url.get_backend_name()
