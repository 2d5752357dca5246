"""`python -m bot` as a process: starts with the embedded default (SQLite), answers, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e import TOKEN
from tests.test_config import CONTRACT, ROOT
from tests.tg_emulator import TelegramEmulator


async def test_run_answer_and_stop_cleanly(emulator: TelegramEmulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {"PYTHONPATH": str(ROOT), "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emulator.base_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await emulator.wait_for(lambda: bool(emulator.calls_of("getUpdates")), timeout=30)
        emulator.message(777, "/start")
        await emulator.wait_sent(777, 1, timeout=15)
        assert emulator.buttons(emulator.last_sent(777))
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert TOKEN not in log
    assert "stopped" in log
    assert (tmp_path / "data" / "bot.sqlite3").is_file()
    assert len(emulator.my_commands) >= 3
