"""A bot that talks only to Telegram, with no Redis, carries no VK client, no Redis client, no
spreadsheet writer and, once its database is at head, no Alembic: each is imported where it is first
needed (issue 13: memory within 1.3 of a bare aiogram bot; together they were 27 MiB of a started
bot's ~260)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAZY = ("vk_api", "requests", "redis", "openpyxl", "alembic")


def _imported(probe: str) -> str:
    """Which of LAZY a fresh interpreter holds after the probe's imports."""
    code = f"{probe}; import sys; print(','.join(m for m in {LAZY!r} if m in sys.modules))"
    out = subprocess.run(  # noqa: S603 - our own interpreter and our own code
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return out.stdout.strip()


def test_the_composition_root_imports_no_unconfigured_client() -> None:
    probe = "import bot.app, bot.run, bot.transports, handlers.figures"
    assert _imported(probe) == "", "imported at start"


def test_each_is_there_when_needed() -> None:
    """The probe above names the real modules: a VK transport and Redis's lock load them (an XLSX
    export loads openpyxl: tests/test_figures*.py export one)."""
    probe = "import bot.vk.transport, bot.shared"
    assert _imported(probe) == "vk_api,requests,redis"


MIGRATE = (
    "import asyncio; from storage.db import create_engine, migrate; "
    "engine = create_engine({url!r}); asyncio.run(migrate(engine))"
)


def test_alembic_only_when_the_schema_is_behind(tmp_path: Path) -> None:
    """A new database is migrated with Alembic; a restart onto it, at head, does not load Alembic
    (11 MiB for the process's life): one query tells it (storage/db.py ``migrate``)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    assert _imported(MIGRATE.format(url=url)) == "alembic"
    assert _imported(MIGRATE.format(url=url)) == ""
