"""MAX in webhook mode: a subscription at <public URL>/max, updates posted to the bot's own server
with MAX's secret header, kept in the inbox before the 200, repeats handled once."""

from __future__ import annotations

import aiohttp
import pytest

from bot.app import Application
from bot.config import ConfigError, load_settings
from bot.max.transport import update_number
from bot.sandbox.max.emulator import MaxEmulator
from storage.vocabulary import Platform
from tests.e2e import HandledUpdates, settled
from tests.max_e2e import (
    MAX_GROUP,
    PUBLIC,
    WEBHOOK_SECRET,
    MaxParent,
    max_button,
    max_cards,
    start_max_app,
    start_max_webhook_app,
)


async def post(app: Application, body: object, headers: dict[str, str] | None = None) -> int:
    assert app.web is not None
    url = f"http://127.0.0.1:{app.web.port}/max"
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as reply:
        return reply.status


async def kept(app: Application) -> list[int]:
    assert app.db is not None
    async with app.db.uow() as uow:
        return [row.update_id for row in await uow.inbox.pending(Platform.MAX)]


async def test_a_family_reaches_coordinators_over_max_webhooks(max_emu: MaxEmulator, db_url: str) -> None:
    app = await start_max_webhook_app(max_emu, db_url, coordinator_chat=f"max:{MAX_GROUP}")
    try:
        [subscription] = max_emu.subscriptions.values()
        assert subscription["secret"] == WEBHOOK_SECRET
        assert "message_callback" in subscription["update_types"]
        family = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(8601))
        await family.start()
        await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
        await family.say("Нужна консультация юриста")
        done = await family.walk("done", "chat", "send")
        assert "#" in family.texts(done)

        # The card reaches the MAX coordinators' chat; a coordinator takes it, pressing over the webhook.
        await max_emu.wait_for(lambda: bool(max_cards(max_emu)))
        await settled(app)
        [card] = max_cards(max_emu)
        coordinator = max_emu.user(9301, name="Вера")
        await coordinator.press(card, max_button(card, "claim"))
        await max_emu.wait_for(lambda: any("Координатор взял" in m.text for m in family.messages()))
        await max_emu.wait_for(lambda: card.edits >= 1)
        assert "Вера" in card.text

        # Every update came by webhook with the secret, answered 200; nothing was long-polled.
        assert not [c for c in max_emu.calls if c[1] == "/updates"]
        assert max_emu.webhook_answers and set(max_emu.webhook_answers) == {200}
    finally:
        await app.stop()
    # A stop does not unsubscribe: the other replicas keep receiving.
    assert f"{PUBLIC}/max" in max_emu.subscriptions


async def test_a_wrong_or_missing_secret_changes_nothing(max_emu: MaxEmulator, db_url: str) -> None:
    app = await start_max_webhook_app(max_emu, db_url)
    try:
        forged_user = max_emu.user(8602)
        update = {
            "update_type": "bot_started",
            "timestamp": 1,
            "chat_id": 1,
            "user": {"user_id": forged_user.user_id, "first_name": "X", "is_bot": False, "name": "X"},
        }
        assert await post(app, update) == 401
        assert await post(app, update, {"X-Max-Bot-Api-Secret": "wrong-secret-0123456789"}) == 401
        assert await post(app, update, {"X-Max-Bot-Api-Secret": WEBHOOK_SECRET.upper()}) == 401
        assert await kept(app) == []
        assert max_emu.in_dialog(forged_user.user_id) == []
        assert app.db is not None
        async with app.db.uow() as uow:
            assert await uow.people.get(f"max:{forged_user.user_id}") is None
        # Not JSON, or not an update, with the right secret: refused too.
        assert await post(app, ["not", "an", "update"], {"X-Max-Bot-Api-Secret": WEBHOOK_SECRET}) == 400
    finally:
        await app.stop()


async def test_a_repeated_update_is_handled_once(max_emu: MaxEmulator, db_url: str) -> None:
    app = await start_max_webhook_app(max_emu, db_url)
    try:
        family = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(8603))
        await family.start()
        await family.tap_value("yes")
        mid = await family.user.write("/sos")
        await family.handled.wait(update_number(mid, 0))
        count = len(family.messages())
        # MAX posts it again (an answer it did not see): kept once, answered once.
        await max_emu.repeat(mid)
        await family.handled.wait(update_number(mid, 0), times=2)
        [again] = [u for u in max_emu._updates if (u.get("message") or {}).get("body", {}).get("mid") == mid][
            1:
        ]
        assert await post(app, again, {"X-Max-Bot-Api-Secret": WEBHOOK_SECRET}) == 200
        await family.handled.wait(update_number(mid, 0), times=3)
        await settled(app)
        assert len(family.messages()) == count
    finally:
        await app.stop()


async def test_long_polling_removes_a_subscription_left_behind(max_emu: MaxEmulator, db_url: str) -> None:
    max_emu.subscriptions["https://old.example.org/max"] = {
        "url": "https://old.example.org/max",
        "time": 0,
        "update_types": None,
        "secret": None,
    }
    app = await start_max_app(max_emu, db_url)
    try:
        await max_emu.wait_for(lambda: any(c[1] == "/updates" for c in max_emu.calls))
        assert max_emu.subscriptions == {}
        assert ("DELETE", "/subscriptions") in [(c[0], c[1]) for c in max_emu.calls]
    finally:
        await app.stop()


def test_max_webhooks_need_https_on_port_443() -> None:
    common = {"max_token": "t", "webhook_secret": WEBHOOK_SECRET, "_env_file": None}
    with pytest.raises(ConfigError, match=r"^WEBHOOK_URL: MAX posts updates only to an https://"):
        load_settings(webhook_url="http://bot.example.org/hook", **common)
    with pytest.raises(ConfigError, match=r"^WEBHOOK_URL: "):
        load_settings(webhook_url="https://bot.example.org:8443/hook", **common)
    settings = load_settings(webhook_url="https://bot.example.org/tg/hook", **common)
    assert settings.max_webhook_url == "https://bot.example.org/max"
