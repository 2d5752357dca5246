"""Broadcasts end to end: the real aiogram bot and the real vk-api client against the emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from handlers.background import Job
from storage.models import utcnow
from tests.e2e import HandledUpdates, Parent, broadcasts_done, find, start_app
from tests.vk_e2e import VkParent, start_vk_app

ADMIN = 900
VK_ADMIN = 7900


def broadcast_job(app: Application) -> Job:
    assert app.background is not None
    return next(job for job in app.background.jobs if job.name == "broadcasts")


@pytest.fixture
async def tg_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    # Quiet hours off: the test runs at any hour of the day.
    app = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}", quiet_hours="off")
    yield app
    await app.stop()


async def test_an_admin_composes_and_families_get_it_with_an_unsubscribe_button(
    emulator: TelegramEmulator, tg_app: Application
) -> None:
    handled = HandledUpdates(tg_app)
    families = [Parent(emulator=emulator, handled=handled, user_id=uid) for uid in (5101, 5102, 5103)]
    for family, answer in zip(families, ("ann_yes", "ann_yes", "ann_no"), strict=True):
        await family.say("/start")
        replies = await family.tap_value("yes")
        question = find(replies, lambda m: any(d.endswith(":ann_yes") for _t, d in emulator.buttons(m)))
        await family.tap_value(answer, question)
    stranger = families[2]
    assert stranger.texts(await stranger.say("/broadcast")) == stranger.texts(await stranger.say("/nonsense"))

    admin = Parent(emulator=emulator, handled=handled, user_id=ADMIN)
    await admin.say("/admin")
    await admin.tap_value("broadcasts")
    await admin.tap_value("new")
    await admin.say("Раздача продуктовых наборов в <b>субботу</b> & воскресенье")
    await admin.tap_value("skip")  # no photo
    await admin.tap_value("skip")  # no English version
    replies = await admin.tap_value("all")
    assert "<b>субботу</b>" in (replies[0].text or "") or "субботу" in (replies[0].text or "")
    assert "2 семьи" in admin.texts(replies), "the number of recipients"
    await admin.tap_value("now")
    job = broadcast_job(tg_app)
    while await job.run_once(utcnow()):
        pass
    await broadcasts_done(tg_app)  # the app's own tick may have claimed some of it first
    for family in families[:2]:
        got = [m for m in emulator.sent_to(family.chat_id) if "Раздача" in (m.text or "")]
        assert len(got) == 1, "exactly once"
        assert any(d.endswith(":unsub") for _t, d in emulator.buttons(got[0]))
    assert not [m for m in emulator.sent_to(families[2].chat_id) if "Раздача" in (m.text or "")]
    # The final report comes from whichever round finished it: right after, if it was the app's own.
    await emulator.wait_for(lambda: "завершена" in (emulator.sent_to(ADMIN)[-1].text or ""), timeout=10)
    assert "Доставлено: 2" in (emulator.sent_to(ADMIN)[-1].text or "")
    # A tap on the announcement's button: unsubscribed, and asked why (optional)
    first = families[0]
    announcement = next(m for m in emulator.sent_to(first.chat_id) if "Раздача" in (m.text or ""))
    replies = await first.tap_value("unsub", announcement)
    assert any(d.endswith(":unsub_many") for m in replies for _t, d in emulator.buttons(m))
    assert tg_app.db is not None
    async with tg_app.db.uow() as uow:
        person = await uow.people.get(f"tg:{first.user_id}")
        assert person is not None and not person.announcements


@pytest.fixture
async def vk_admin_app(vk: VkEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_vk_app(vk, db_url, admin_ids=f"vk:{VK_ADMIN}", quiet_hours="off", working_hours="off")
    yield app
    await app.stop()


async def test_on_vk_an_announcement_carries_the_newsletter_intent(
    vk: VkEmulator, vk_admin_app: Application
) -> None:
    handled = HandledUpdates(vk_admin_app)
    family = VkParent(vk=vk, handled=handled, user=vk.user(7101))
    await family.start()
    await family.tap_value("yes")
    await family.tap_value("ann_yes")
    admin = VkParent(vk=vk, handled=handled, user=vk.user(VK_ADMIN))
    await admin.say("/broadcast")
    await admin.say("Бесплатная консультация юриста в четверг")
    await admin.tap_value("skip")
    await admin.tap_value("skip")
    await admin.tap_value("all")
    await admin.tap_value("now")
    job = broadcast_job(vk_admin_app)
    while await job.run_once(utcnow()):
        pass
    await broadcasts_done(vk_admin_app)  # the app's own tick may have claimed some of it first
    sends = [c for c in vk.calls_of("messages.send") if "четверг" in str(c.params.get("message", ""))]
    to_family = [
        c for c in sends if str(family.peer_id) in str(c.params.get("peer_ids", c.params.get("peer_id")))
    ]
    assert len(to_family) == 1 and to_family[0].params.get("intent") == "non_promo_newsletter"
    assert any(m.text and "четверг" in m.text and "Объявление" in m.text for m in family.messages())
