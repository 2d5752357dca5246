"""The real `python -m bot`, SIGKILLed in the middle of a broadcast to 300 families (Telegram and
VK), then started again: counted at the emulators, nobody gets the announcement twice, everyone not
in flight at the kill gets it once, and the admin's one final report says so."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from storage.db import create_engine, migrate
from storage.uow import Database
from storage.vocabulary import Platform
from tests.broadcast_scale_support import (
    TEXT,
    BotProcess,
    announce,
    report_numbers,
    seed,
    status_of,
    statuses,
)
from tests.e2e import TOKEN
from tests.vk_e2e import VK_GROUP, VK_TOKEN

FAMILIES = 150  # on each platform
FIRST = 700_000
ADMIN = 900


async def test_sigkill_mid_broadcast_then_restart_sends_nobody_twice(
    emulator: TelegramEmulator, vk: VkEmulator, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.sqlite3'}"))
    await migrate(db.engine)
    people = range(FIRST, FIRST + FAMILIES)
    await seed(db, Platform.TELEGRAM, people)
    await seed(db, Platform.VK, people)
    broadcast = await announce(db, f"tg:{ADMIN}")
    bot = BotProcess(
        tmp_path,
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.base_url,
            "VK_TOKEN": VK_TOKEN,
            "VK_GROUP_ID": str(VK_GROUP),
            "VK_API_URL": vk.url,
            "ADMIN_IDS": f"tg:{ADMIN}",
            "QUIET_HOURS": "off",
            "WORKING_HOURS": "off",
            "BROADCAST_RATE": "20",
            "INSTANCE_ID": "sigkill-bot",
            "WEB_PORT": "0",
        },
    )

    def on_telegram() -> dict[int, int]:
        return {uid: sum(TEXT in (m.text or "") for m in emulator.sent_to(uid)) for uid in people}

    def on_vk() -> dict[int, int]:
        return {uid: sum(TEXT in m.text for m in vk.sent_to(uid)) for uid in people}

    await bot.start()
    try:
        await emulator.wait_for(lambda: sum(on_telegram().values()) >= 40, timeout=90)
        await bot.kill()
        at_kill = sum(on_telegram().values()) + sum(on_vk().values())
        assert at_kill < 2 * FAMILIES, "killed in the middle"
        await bot.start()
        for _ in range(240):
            if await status_of(db, broadcast) == "done":
                break
            await asyncio.sleep(0.5)
        reports = lambda: [m for m in emulator.sent_to(ADMIN) if "завершена" in (m.text or "")]  # noqa: E731
        await emulator.wait_for(lambda: bool(reports()), timeout=30)
        rows = await statuses(db, broadcast)
    finally:
        await bot.stop()
        await db.dispose()

    got = list(on_telegram().values()) + list(on_vk().values())
    print(f"sigkill: {at_kill} sent before the kill; rows {dict(rows)}; {sum(got)} delivered")
    assert max(got) == 1, "nobody got it twice"
    lost = rows.get("sending", 0)  # in flight at the kill: never sent again, reported as failed
    assert set(rows) <= {"sent", "sending"} and rows["sent"] + lost == 2 * FAMILIES, rows
    assert sum(got) >= rows["sent"] and 2 * FAMILIES - sum(got) <= lost <= 1 + 100, (rows, sum(got))
    assert len(reports()) == 1, "one final report"
    assert report_numbers(reports()[0].text or "") == {
        "Доставлено": rows["sent"],
        "Недоступны": 0,
        "Ошибки": lost,
        "Пропущено": 0,
    }
