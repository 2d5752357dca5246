"""The operators' endpoints: alive, ready, and metrics that move when work happens."""

from __future__ import annotations

import aiohttp
import pytest

from bot.app import Application
from bot.config import ConfigError
from bot.sandbox.telegram.emulator import TelegramEmulator
from tests.e2e import GROUP, HandledUpdates, Parent, make_tickets, settled, start_app


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            head, _, value = line.rpartition(" ")
            if head == name or head.startswith(name + "{"):
                total += float(value)
    return total


async def get(app: Application, path: str) -> tuple[int, str]:
    assert app.web is not None and app.web.port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{app.web.port}{path}") as reply,
    ):
        return reply.status, await reply.text()


async def test_health_readiness_and_metrics(emulator: TelegramEmulator, db_url: str) -> None:
    app = await start_app(emulator, db_url)
    try:
        assert (await get(app, "/healthz"))[0] == 200
        status, body = await get(app, "/readyz")
        assert status == 200 and '"database": true' in body
        _, before = await get(app, "/metrics")
        assert metric(before, "bot_updates_total") == 0

        parent = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=7001)
        await parent.say("/start")
        await make_tickets(app, 2)  # no coordinators' chat: they wait, unclaimed, in the outbox
        _, after = await get(app, "/metrics")
        assert metric(after, "bot_updates_total") == 1
        assert metric(after, "bot_update_seconds_count") == 1
        assert metric(after, "bot_outbox_depth") == 2 and metric(after, "bot_unclaimed_tickets") == 2
        for name in (
            "bot_followups_due",
            "bot_broadcast_waiting",
            "bot_broadcast_sent",
            "bot_deliveries_failed",
        ):
            assert f"\n{name} " in after, f"{name} is exported"
    finally:
        await app.stop()


async def test_not_ready_while_a_transport_has_failed(emulator: TelegramEmulator, db_url: str) -> None:
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}")
    try:
        await make_tickets(app, 1)
        await settled(app)
        _, body = await get(app, "/metrics")
        assert metric(body, "bot_outbox_depth") == 0, "the card went out"
        app._listening = False  # as when a transport is still being waited for
        status, body = await get(app, "/readyz")
        assert status == 503 and '"transports": false' in body
    finally:
        await app.stop()


async def test_a_second_replica_without_redis_is_refused_with_one_line(
    emulator: TelegramEmulator, db_url: str
) -> None:
    first = await start_app(emulator, db_url, instance_id="replica-a")
    try:
        with pytest.raises(ConfigError, match=r"^REDIS_URL: another replica \(replica-a\)"):
            second = await start_app(emulator, db_url, instance_id="replica-b")
            await second.stop()
    finally:
        await first.stop()
    again = await start_app(emulator, db_url, instance_id="replica-b")  # the first one stopped: fine
    await again.stop()
