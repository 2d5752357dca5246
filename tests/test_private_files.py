"""The SQLite file and its folder are readable by their owner only (0600 / 0700), and so are the WAL
files SQLite makes beside it."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine, migrate_when_reachable


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_and_its_folder_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    database = folder / "bot.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await migrate_when_reachable(engine)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            await conn.execute(text("INSERT INTO probe VALUES (1)"))
        assert mode(folder) == 0o700
        assert mode(database) == 0o600
        wal = [p for p in folder.iterdir() if p.name.endswith(("-wal", "-shm"))]
        assert wal, "WAL mode keeps its files beside the database while it is open"
        assert all(mode(p) == 0o600 for p in wal), [(p.name, oct(mode(p))) for p in wal]
    finally:
        await engine.dispose()


def test_an_existing_folder_is_left_alone_and_an_open_file_is_narrowed(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    database = tmp_path / "bot.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    create_engine(f"sqlite+aiosqlite:///{database}")  # no connection yet: the file is narrowed first
    assert mode(tmp_path) == 0o755  # perhaps the working directory: not ours to change
    assert mode(database) == 0o600
