"""2,000 families, some who blocked the bot, with 429s (VK: error 6) injected: through the real
transports against the emulators, each reachable opted-in family gets the announcement exactly once,
the others are marked, and the admin's report says so. On VK one messages.send reaches 100 of them."""

from __future__ import annotations

import math

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from storage.uow import Database
from storage.vocabulary import Platform
from tests.broadcast_scale_support import (
    TEXT,
    announce,
    broadcast_job,
    drain,
    report_numbers,
    seed,
    status_of,
    statuses,
    unpace,
    unreachable_people,
)
from tests.e2e import start_app
from tests.vk_e2e import start_vk_app

FAMILIES = int(__import__("os").environ.get("BC_FAMILIES", "2000"))
ADMIN = 900
FIRST = 600_000


async def test_telegram_2000_families_each_get_it_once(emulator: TelegramEmulator, db_url: str) -> None:
    app = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}", quiet_hours="off")
    try:
        assert app.db is not None
        unpace(app)
        people = range(FIRST, FIRST + FAMILIES)
        await seed(app.db, Platform.TELEGRAM, people)
        blocked = set(people[::97])  # blocked the bot since they opted in
        for uid in blocked:
            emulator.block(uid)
        emulator.fail_next("sendMessage", error_code=429, retry_after=1, times=3)
        broadcast = await announce(app.db, f"tg:{ADMIN}")
        await drain(broadcast_job(app), app.db, broadcast)

        got = {uid: sum(TEXT in (m.text or "") for m in emulator.sent_to(uid)) for uid in people}
        assert {uid for uid, n in got.items() if n != 1} == blocked, "everyone reachable exactly once"
        assert all(got[uid] == 0 for uid in blocked)
        assert sum(1 for c in emulator.calls if c.error and "Too Many Requests" in c.error) == 3
        await _check_the_outcome(app.db, broadcast, Platform.TELEGRAM, blocked, refused=set())
        # Done in the table a moment before the final report is sent (by the app's own tick, maybe).
        await emulator.wait_for(lambda: "завершена" in (emulator.sent_to(ADMIN)[-1].text or ""), timeout=10)
        report = report_numbers(emulator.sent_to(ADMIN)[-1].text or "")
        assert report == {
            "Доставлено": FAMILIES - len(blocked),
            "Недоступны": len(blocked),
            "Ошибки": 0,
            "Пропущено": 0,
        }
    finally:
        await app.stop()


async def test_vk_2000_families_in_a_twentieth_of_the_calls(vk: VkEmulator, db_url: str) -> None:
    app = await start_vk_app(vk, db_url, admin_ids="vk:7900", quiet_hours="off", working_hours="off")
    try:
        assert app.db is not None
        unpace(app)
        people = range(FIRST, FIRST + FAMILIES)
        await seed(app.db, Platform.VK, people)
        blocked = set(people[::97])
        for uid in blocked:
            vk.set_blocked(uid)
        refused = {people[5]: 943, people[len(people) // 3]: 944, people[-1]: 943}  # VK refused the intent
        for uid, code in refused.items():
            vk.refuse_intent(uid, code)
        vk.fail("messages.send", 6, times=2)  # too many requests: waited out, sent once
        broadcast = await announce(app.db, "vk:7900")
        await drain(broadcast_job(app), app.db, broadcast)

        got = {uid: sum(TEXT in m.text for m in vk.sent_to(uid)) for uid in people}
        assert {uid for uid, n in got.items() if n != 1} == blocked | set(refused)
        announcements = [c for c in vk.calls_of("messages.send") if TEXT in c.params.get("message", "")]
        # One call per 100 people; the two refused with error 6 were sent again.
        assert len(announcements) <= math.ceil(FAMILIES / 100) + 2 + 1
        assert all(c.params.get("intent") == "non_promo_newsletter" for c in announcements)
        assert max(len(c.params["peer_ids"].split(",")) for c in announcements) == min(100, FAMILIES)
        await _check_the_outcome(app.db, broadcast, Platform.VK, blocked, refused=set(refused))
        # Done in the table a moment before the final report is sent (by the app's own tick, maybe).
        await vk.wait_for(lambda: "завершена" in vk.sent_to(7900)[-1].text, timeout=10)
        report = vk.sent_to(7900)[-1].text
        assert report_numbers(report) == {
            "Доставлено": FAMILIES - len(blocked) - len(refused),
            "Недоступны": len(blocked),
            "Ошибки": 0,
            "Пропущено": 0,
            "Отклонено": len(refused),
        }, report
        # Each got a button of their own to unsubscribe, and it works from the batch's message.
        unsubscribe = [b for b in vk.sent_to(FIRST + 1)[-1].buttons() if "unsub" in str(b)]
        assert unsubscribe, "the announcement carries its unsubscribe button"
    finally:
        await app.stop()


async def _check_the_outcome(
    db: Database, broadcast: int, platform: Platform, blocked: set[int], refused: set[int]
) -> None:
    assert await status_of(db, broadcast) == "done"
    assert await statuses(db, broadcast) == {
        k: v
        for k, v in {
            "sent": FAMILIES - len(blocked) - len(refused),
            "unreachable": len(blocked),
            "refused": len(refused),
        }.items()
        if v
    }
    assert await unreachable_people(db) == {f"{platform.value}:{uid}" for uid in blocked}
