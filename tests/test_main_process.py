"""`python -m bot` as a process: starts with the embedded default (SQLite), answers, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from tests.e2e import TOKEN
from tests.test_config import CONTRACT, ROOT
from tests.vk_e2e import VK_GROUP, VK_TOKEN


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


async def test_vk_alone_runs_answers_and_stops(vk: VkEmulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {"PYTHONPATH": str(ROOT), "VK_TOKEN": VK_TOKEN, "VK_GROUP_ID": str(VK_GROUP), "VK_API_URL": vk.url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await vk.wait_for(lambda: bool(vk.lp_requests), timeout=30)
        await vk.user(778).start()
        await vk.wait_sent(778, 1, timeout=15)
        assert vk.last_sent(778).buttons()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=40)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log, log
    assert VK_TOKEN not in log
    assert "stopped" in log


async def test_a_token_vk_refuses_stops_with_one_line(vk: VkEmulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {
        "PYTHONPATH": str(ROOT),
        "VK_TOKEN": "wrong-token",
        "VK_GROUP_ID": str(VK_GROUP),
        "VK_API_URL": vk.url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=40)
    log = stderr.decode()
    assert process.returncode == 2, log
    assert "Configuration error: VK_TOKEN:" in log
    assert "Traceback" not in log and "wrong-token" not in log
