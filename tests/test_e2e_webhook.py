"""Webhook mode: Telegram posts updates with its secret; VK's Callback API; both kept before the 200."""

from __future__ import annotations

import aiohttp

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from storage.vocabulary import Platform
from tests.e2e import HandledUpdates, Parent, start_app
from tests.vk_e2e import start_vk_app

SECRET = "webhook-secret-0123456789"
VK_SECRET = "vk-callback-secret"


async def post(
    app: Application, path: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    assert app.web is not None
    url = f"http://127.0.0.1:{app.web.port}{path}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers or {}) as reply,
    ):
        return reply.status, await reply.text()


async def kept(app: Application, platform: Platform) -> list[int]:
    assert app.db is not None
    async with app.db.uow() as uow:
        return [row.update_id for row in await uow.inbox.pending(platform)]


async def test_telegram_posts_updates_to_the_webhook_with_its_secret(
    emulator: TelegramEmulator, db_url: str
) -> None:
    app = await start_app(
        emulator, db_url, webhook_url="https://bot.example.org/tg/hook", webhook_secret=SECRET
    )
    try:
        [call] = emulator.calls_of("setWebhook")
        assert call.params["url"] == "https://bot.example.org/tg/hook"
        assert call.params["secret_token"] == SECRET
        assert not emulator.calls_of("getUpdates"), "no long polling in webhook mode"
        assert app.web is not None
        emulator.webhook_targets = [f"http://127.0.0.1:{app.web.port}/tg/hook"]  # the proxy in front

        parent = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=8001)
        replies = await parent.say("/start")
        assert replies and emulator.buttons(replies[-1])
        assert 200 in emulator.webhook_answers

        forged = {
            "update_id": 999_999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 8002, "type": "private"},
                "from": {"id": 8002, "is_bot": False, "first_name": "X"},
                "text": "/start",
            },
        }
        assert (await post(app, "/tg/hook", forged))[0] == 401, "no secret: refused"
        assert (await post(app, "/tg/hook", forged, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}))[0] == 401
        assert emulator.sent_to(8002) == [] and 999_999 not in await kept(app, Platform.TELEGRAM), (
            "nothing changed"
        )
        assert (await post(app, "/elsewhere", forged))[0] == 404
    finally:
        await app.stop()


async def test_vk_callback_api_confirms_checks_the_secret_and_answers(vk: VkEmulator, db_url: str) -> None:
    app = await start_vk_app(
        vk,
        db_url,
        webhook_url="https://bot.example.org/tg",
        webhook_secret=SECRET,
        vk_callback_secret=VK_SECRET,
        vk_confirmation_code="a1b2c3d4",
    )
    try:
        assert not vk.lp_requests, "no long poll with the Callback API"
        status, body = await post(app, "/vk", {"type": "confirmation", "group_id": vk.group_id})
        assert (status, body) == (200, "a1b2c3d4")

        event_id = await vk.user(8101).start()
        event = vk.events[event_id]
        assert (await post(app, "/vk", {**event, "secret": "wrong"}))[0] == 403
        assert (await post(app, "/vk", {**event, "group_id": 1, "secret": VK_SECRET}))[0] == 403
        assert vk.sent_to(8101) == []

        assert await post(app, "/vk", {**event, "secret": VK_SECRET}) == (200, "ok")
        await vk.wait_sent(8101, 1, timeout=10)
        assert await post(app, "/vk", {**event, "secret": VK_SECRET}) == (200, "ok"), "VK repeats: fine"
        await vk.wait_for(lambda: True)
        assert len(vk.sent_to(8101)) == 1, "a repeated event changes nothing"
    finally:
        await app.stop()
