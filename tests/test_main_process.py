"""`python -m bot` as a process: starts with the embedded default (SQLite), answers, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
import weakref
from pathlib import Path

from bot.run import GC_YOUNG, settle_heap
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from tests.contract_support import CONTRACT, ROOT
from tests.e2e import TOKEN
from tests.vk_e2e import VK_GROUP, VK_TOKEN


async def test_run_answer_and_stop_cleanly(emulator: TelegramEmulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "WEB_PORT": "0",
    }
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
    assert "heap settled" in log  # bot/run.py settle_heap: the collector skips what the start built
    assert "running on uvloop's event loop" in log  # bot/run.py run_loop
    assert "malloc keeps at most 2 arenas" in log  # bot/run.py fewer_malloc_arenas
    assert (tmp_path / "data" / "bot.sqlite3").is_file()
    assert len(emulator.my_commands) >= 3


async def test_vk_alone_runs_answers_and_stops(vk: VkEmulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {
        "PYTHONPATH": str(ROOT),
        "VK_TOKEN": VK_TOKEN,
        "VK_GROUP_ID": str(VK_GROUP),
        "VK_API_URL": vk.url,
        "WEB_PORT": "0",
    }
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
        "WEB_PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=40)
    log = stderr.decode()
    assert process.returncode == 2, log
    assert "Configuration error: VK_TOKEN:" in log
    assert "Traceback" not in log and "wrong-token" not in log


async def test_a_token_telegram_refuses_stops_with_one_line(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    emulator.refused_tokens.add(TOKEN)
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "WEB_PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=40)
    log = stderr.decode()
    assert process.returncode == 2, log
    assert "Configuration error: BOT_TOKEN: Telegram did not accept the token" in log
    assert "Traceback" not in log and TOKEN not in log


async def wait_for_lines(stream: asyncio.StreamReader, needle: str, count: int, timeout: float) -> list[str]:
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while sum(needle in line for line in lines) < count:
            raw = await stream.readline()
            assert raw, "the process ended:\n" + "".join(lines)
            lines.append(raw.decode())
    return lines


async def test_unreachable_telegram_and_database_are_waited_for_without_a_traceback(tmp_path: Path) -> None:
    """Started before its network or its database: alive, one line a try, then a clean stop."""
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": "http://127.0.0.1:9",  # nothing listens there
        "DATABASE_URL": "postgresql+asyncpg://bot:s3cr3t-pass@127.0.0.1:9/bot",
        "WEB_PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        lines = await wait_for_lines(process.stderr, "cannot be reached yet", 2, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stderr.read(), timeout=30)
        await process.wait()
    log = "".join(lines) + rest.decode()
    assert process.returncode == 0, log
    assert "the database cannot be reached yet" in log
    assert "Traceback" not in log and "s3cr3t-pass" not in log and TOKEN not in log


async def test_json_logs_are_one_object_a_line(emulator: TelegramEmulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    env |= {
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "LOG_FORMAT": "json",
        "WEB_PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await emulator.wait_for(lambda: bool(emulator.calls_of("getUpdates")), timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert entries and all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert any(entry["message"] == "stopped" for entry in entries)


def test_settling_the_heap_freezes_the_start_and_still_collects_what_comes_after() -> None:
    thresholds = gc.get_threshold()
    try:
        settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000 and gc.get_threshold()[0] == GC_YOUNG

        class Node:
            other: object = None

        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made after the start: garbage once dropped
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
