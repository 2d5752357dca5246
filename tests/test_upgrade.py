"""A database written by the previous version (schema 0004, its dialog states) works after the upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

import storage.db
from dialogs.directory import Directory
from dialogs.i18n import Translators
from handlers.cursors import Cursors
from storage.db import MIGRATIONS_DIR, create_engine, head_revision, migrate
from storage.models import utcnow
from storage.uow import Database
from storage.vocabulary import Platform
from tests.fakes import FakeMessenger, Family, conversation

# Exactly what the previous version saved for a parent who was writing their story, and for VK's
# long-poll position (kept then as a dialog state).
OLD_STATE = {
    "draft": {
        "category": "legal",
        "answers": {"legal_topic": ["divorce"]},
        "danger_now": False,
        "children": 1,
        "ages": [3],
        "region_code": "msk",
        "region": "Москва",
        "description": "Муж не платит алименты.",
    },
    "draft_step": None,
    "history": ["menu", "t_danger", "t_category", "q_legal_topic", "t_children", "t_ages", "t_region"],
    "editing": None,
    "rewrite": False,
    "page": 0,
    "ticket": None,
    "info_text": "",
    "info_attachments": [],
    "info_urgent": False,
    "relay_urgent": False,
    "return_to": None,
}


def _to_0004(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "0004")


async def test_a_dialog_saved_before_the_upgrade_resumes_at_its_step(
    tmp_path: Path, translators: Translators, directory: Directory
) -> None:
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"))
    async with db.engine.begin() as connection:
        await connection.run_sync(_to_0004)
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create("tg:42", Platform.TELEGRAM, "ru")
        await uow.people.give_consent(person, "v-test", utcnow())
        await uow.dialogs.save("tg:42", "t_desc", OLD_STATE)
        await uow.dialogs.save("cursor:vk:77", "ts", {"ts": "1234"})

    await migrate(db.engine)

    assert await Cursors(db).load("vk:77") == "1234", "VK's long-poll position moved to its own table"
    async with db.uow() as uow:
        assert await uow.dialogs.load("cursor:vk:77") is None
    messenger = FakeMessenger()
    service = conversation(db, messenger, translators, directory)
    family = Family(service)
    await family.text("И угрожает забрать ребёнка.")
    await family.press("t_desc", "done")
    async with db.uow() as uow:
        stored = await uow.dialogs.load("tg:42")
    assert stored is not None
    state, data = stored
    assert state == "t_contact", "the story step went on to the next one"
    assert data["draft"]["description"].startswith("Муж не платит алименты.")
    assert "забрать ребёнка" in data["draft"]["description"]
    assert data["draft"]["category"] == "legal" and data["history"][-1] == "t_desc"
    await family.press("t_contact", "back")
    async with db.uow() as uow:
        stored = await uow.dialogs.load("tg:42")
    assert stored is not None and stored[0] == "t_desc", "the saved history still leads back"
    await db.dispose()


def test_the_head_read_from_the_files_is_alembics() -> None:
    """storage/db.py tells a database at head without Alembic by reading the migrations as text."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_broken_history_leaves_it_to_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    for name, revision, parent in [("a", "0001", "None"), ("b", "0002", "'0001'"), ("c", "0003", "'0001'")]:
        (versions / f"{name}.py").write_text(f"revision: str = '{revision}'\ndown_revision = {parent}\n")
    monkeypatch.setattr(storage.db, "MIGRATIONS_DIR", tmp_path)
    assert head_revision() is None, "two heads"
    (versions / "c.py").write_text("revision: str = '0003'\ndown_revision = '0002'\n")
    assert head_revision() == "0003"
    (versions / "d.py").write_text("revision = compute()\n")
    assert head_revision() is None, "a revision not written as text"
