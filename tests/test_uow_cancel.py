"""A stop that cancels a poll loop while it keeps a batch (handlers/inbox.py ``Inbox.accept``) waits
for the batch's unit of work to end: no traceback from a commit (or a pool reset) cut in half, the
batch kept, the connection back in the pool and SQLite's write lock free."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from handlers.inbox import Inbox
from storage.db import create_engine, migrate
from storage.sqlite_driver import OneTripConnection
from storage.uow import Database
from storage.vocabulary import Platform
from storage.writer import to_the_end


async def test_a_cancel_while_a_batch_is_kept_lets_its_unit_of_work_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'reset.sqlite3'}"))
    await migrate(database.engine)
    resetting = asyncio.Event()
    commit = OneTripConnection.commit

    async def slow_commit(self: OneTripConnection) -> Any:
        resetting.set()  # the unit of work ends (a pool reset after a commit makes no trip)
        await asyncio.sleep(0.05)
        return await commit(self)

    monkeypatch.setattr(OneTripConnection, "commit", slow_commit)
    caplog.set_level(logging.WARNING)
    inbox = Inbox(database)
    try:
        task = asyncio.create_task(inbox.accept(Platform.TELEGRAM, [(1, {"message": {"text": "помогите"}})]))
        await asyncio.wait_for(resetting.wait(), 5)
        for _ in range(3):
            task.cancel()
            await asyncio.sleep(0.01)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert [u for u, _raw in await inbox.pending(Platform.TELEGRAM)] == [1]
        async with asyncio.timeout(5), database.uow() as uow:  # the write lock is free
            assert await uow.updates.first_time(Platform.TELEGRAM, 2)
    finally:
        await database.dispose()


async def test_to_the_end_finishes_the_work_then_raises_the_cancel() -> None:
    finished = asyncio.Event()

    async def slow() -> int:
        await asyncio.sleep(0.01)
        finished.set()
        return 1

    task = asyncio.create_task(to_the_end(slow()))
    await asyncio.sleep(0)
    for _ in range(3):
        task.cancel()
        await asyncio.sleep(0.001)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set()
    assert await to_the_end(slow()) == 1
