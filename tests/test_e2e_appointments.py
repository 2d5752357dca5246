"""Appointments end to end through the emulators: a family on Telegram, and a family on VK, with
coordinators in the Telegram group; offer, confirm, both reminders, cancellation, can't come,
another time, and the thread told each time."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from storage.models import utcnow
from tests.appointment_support import MOSCOW, VERA, Journey
from tests.e2e import GROUP, HandledUpdates, Parent, introduce, start_app
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


async def test_appoint_inside_a_forum_topic_needs_no_reply(emulator: TelegramEmulator, db_url: str) -> None:
    """In a forum supergroup each request has its topic: /appoint written there (no reply) counts."""
    emulator.forums.add(GROUP)
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}", quiet_hours="off")
    try:
        family = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=6301)
        await family.say("/start")
        await family.tap_value("yes")
        await family.walk("new", "no", "legal", "alimony", "1", "9", "r.spb")
        await family.say("Нужна консультация юриста")
        await family.walk("done", "chat", "send")
        journey = Journey(
            app, emulator, family, lambda: [m.text or "" for m in emulator.sent_to(family.chat_id)]
        )
        introduce(emulator, VERA, "Вера")
        await journey.taken()
        [((_chat, thread), _topic)] = list(emulator.topics.items())
        at = (utcnow() + timedelta(days=2)).astimezone(MOSCOW)
        before, asked = len(emulator.sent_to(GROUP)), journey.questions()
        emulator.message(
            VERA,
            f"/appoint {at:%d.%m} 10:30 Центр семьи",
            chat_id=GROUP,
            chat_type="supergroup",
            first_name="Вера",
            message_thread_id=thread,
        )
        await journey.told("Семье предложена встреча", before)
        said = [m for m in emulator.sent_to(GROUP)[before:] if "Семье предложена" in (m.text or "")]
        assert said[0].params.get("message_thread_id") == thread, "answered in the request's topic"
        offer = await journey.offered(utcnow(), "Центр семьи", asked)
        assert "10:30" in offer
    finally:
        await app.stop()
