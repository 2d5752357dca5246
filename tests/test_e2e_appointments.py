"""Appointments end to end through the emulators: a family on Telegram, and a family on VK, with
coordinators in the Telegram group; offer, confirm, both reminders, cancellation, can't come,
another time, and the thread told each time."""

from __future__ import annotations

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from tests.appointment_support import Journey
from tests.e2e import GROUP, HandledUpdates, Parent, start_app
from tests.vk_e2e import VkParent, start_vk_app


async def test_appointments_with_a_telegram_family(emulator: TelegramEmulator, db_url: str) -> None:
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}", quiet_hours="off")
    try:
        family = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=6201)
        await family.say("/start")
        await family.tap_value("yes")
        await family.walk("new", "no", "legal", "alimony", "1", "9", "r.spb")
        await family.say("Нужна консультация юриста")
        await family.walk("done", "chat", "send")
        await Journey(
            app, emulator, family, lambda: [m.text or "" for m in emulator.sent_to(family.chat_id)]
        ).run()
        emulator.assert_no_spec_errors()
    finally:
        await app.stop()


async def test_appointments_with_a_vk_family(vk: VkEmulator, emulator: TelegramEmulator, db_url: str) -> None:
    app = await start_vk_app(
        vk, db_url, telegram=emulator, coordinator_chat=f"tg:{GROUP}", quiet_hours="off", working_hours="off"
    )
    try:
        family = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7201))
        await family.start()
        await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
        await family.say("Нужна консультация юриста")
        await family.walk("done", "chat", "send")
        await Journey(app, emulator, family, lambda: [m.text or "" for m in family.messages()]).run()
        intents = {
            c.params.get("intent")
            for c in vk.calls_of("messages.send")
            if "Напоминаем" in c.params.get("message", "")
        }
        assert intents == {"confirmed_notification"}
        vk.assert_no_spec_errors()
        emulator.assert_no_spec_errors()
    finally:
        await app.stop()
