"""An announcement's photo, and Telegram's paid broadcast, end to end: the real aiogram bot and the
real vk-api client against the emulators."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from handlers import broadcasts
from handlers.background import Job
from storage.models import utcnow
from tests.e2e import HandledUpdates, Parent, broadcasts_done, start_app
from tests.max_e2e import MaxParent, start_max_app
from tests.vk_e2e import VkParent, start_vk_app

ADMIN = 910


def job(app: Application, name: str) -> Job:
    assert app.background is not None
    return next(j for j in app.background.jobs if j.name == name)


async def send_everything(app: Application) -> None:
    """The file on every messenger first, then the broadcast (as the background runner would); then
    until it is done, since the app's own ticks may have claimed part of it first."""
    for name in ("broadcast_files", "broadcasts"):
        while await job(app, name).run_once(utcnow()):
            pass
    await broadcasts_done(app)


async def subscribed(parent: Parent) -> None:
    await parent.say("/start")
    await parent.tap_value("yes")
    await parent.tap_value("ann_yes")


@pytest.fixture
async def tg_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}", quiet_hours="off")
    yield app
    await app.stop()


async def test_a_photo_with_its_caption_reaches_families_by_the_same_file_id(
    emulator: TelegramEmulator, tg_app: Application
) -> None:
    handled = HandledUpdates(tg_app)
    families = [Parent(emulator=emulator, handled=handled, user_id=uid) for uid in (5201, 5202)]
    for family in families:
        await subscribed(family)
    admin = Parent(emulator=emulator, handled=handled, user_id=ADMIN)
    await admin.say("/broadcast")
    await admin.send(photo=True, caption="Раздача наборов в <b>субботу</b>")
    own = emulator.user_messages[ADMIN][-1].raw["photo"][-1]["file_id"]
    await admin.tap_value("skip")  # no English version
    replies = await admin.tap_value("all")
    preview = next(m for m in replies if m.raw.get("photo"))
    assert preview.raw["photo"][-1]["file_id"] == own, "the preview is the photo families will get"
    assert "субботу" in (preview.text or "") and any(
        d.endswith(":unsub") for _t, d in emulator.buttons(preview)
    )
    await admin.tap_value("now")
    await send_everything(tg_app)
    for family in families:
        got = [m for m in emulator.sent_to(family.chat_id) if m.raw.get("photo")]
        assert len(got) == 1, "exactly once"
        assert got[0].raw["photo"][-1]["file_id"] == own, "Telegram: the same file_id, nothing uploaded"
        assert "субботу" in (got[0].text or "") and any(
            d.endswith(":unsub") for _t, d in emulator.buttons(got[0])
        )
    assert not emulator.spec_errors


async def test_a_text_too_long_for_a_caption_follows_its_photo(
    emulator: TelegramEmulator, tg_app: Application
) -> None:
    handled = HandledUpdates(tg_app)
    admin = Parent(emulator=emulator, handled=handled, user_id=ADMIN)
    await admin.say("/broadcast")
    assert "текст" in admin.texts(await admin.send(photo=True)).lower(), "the file, then asked for the text"
    long_text = "Адреса пунктов выдачи: " + "ул. Ленина, 1; " * 80  # past Telegram's 1,024 for a caption
    await admin.say(long_text)
    await admin.tap_value("skip")
    family = Parent(emulator=emulator, handled=handled, user_id=5231)
    await subscribed(family)
    replies = await admin.tap_value("all")
    photo = next(i for i, m in enumerate(replies) if m.raw.get("photo"))
    assert not replies[photo].raw.get("caption"), "the photo alone"
    text = replies[photo + 1]
    assert "Адреса пунктов выдачи" in (text.text or "") and any(
        d.endswith(":unsub") for _t, d in emulator.buttons(text)
    ), "then the text with its button"
    assert not emulator.spec_errors


async def test_a_paid_broadcast_shows_its_cost_and_the_balance_then_goes_paid(
    emulator: TelegramEmulator, tg_app: Application
) -> None:
    handled = HandledUpdates(tg_app)
    families = [Parent(emulator=emulator, handled=handled, user_id=uid) for uid in (5211, 5212, 5213)]
    for family in families:
        await subscribed(family)
    emulator.set_star_balance(0.25)
    admin = Parent(emulator=emulator, handled=handled, user_id=ADMIN)
    await admin.say("/broadcast")
    await admin.say("Сегодня ночью открыт кризисный центр для мам")
    await admin.walk("skip", "skip", "all")
    refused = admin.texts(await admin.tap_value("paid"))
    assert "0.3 ⭐" in refused and "0.25 ⭐" in refused, "3 families × 0.1 Star, and the balance"
    assert not any(d.endswith(":confirm") for _t, d in emulator.buttons(admin.last_with_buttons()))
    assert emulator.calls_of("getMyStarBalance"), "asked Telegram"
    await admin.tap_value("back")
    emulator.set_star_balance(120)
    offer = admin.texts(await admin.tap_value("paid"))
    assert "0.3 ⭐" in offer and "120 ⭐" in offer
    await admin.tap_value("confirm")
    await send_everything(tg_app)
    for family in families:
        sends = [
            c
            for c in emulator.calls_of("sendMessage")
            if str(c.params.get("chat_id")) == str(family.chat_id)
            and "кризисный центр" in str(c.params.get("text"))
        ]
        assert len(sends) == 1 and sends[0].params.get("allow_paid_broadcast") is True
    replies = [c for c in emulator.calls_of("sendMessage") if str(c.params.get("chat_id")) == str(ADMIN)]
    assert replies and all(not c.params.get("allow_paid_broadcast") for c in replies), "only the broadcast"
    assert not emulator.spec_errors


async def test_a_balance_telegram_is_slow_to_give_is_not_waited_for(
    emulator: TelegramEmulator, tg_app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The balance is asked inside the admin's turn, which holds SQLite's one writer: a "retry after
    30 s" is not waited out (every family's turn would wait with it); the admin may send as usual."""
    monkeypatch.setattr(broadcasts, "STAR_BALANCE_WAIT", 0.5)
    handled = HandledUpdates(tg_app)
    await subscribed(Parent(emulator=emulator, handled=handled, user_id=5221))
    admin = Parent(emulator=emulator, handled=handled, user_id=ADMIN)
    await admin.say("/broadcast")
    await admin.say("Сегодня ночью открыт кризисный центр для мам")
    await admin.walk("skip", "skip", "all")
    emulator.fail_next("getMyStarBalance", error_code=429, retry_after=30)
    started = asyncio.get_running_loop().time()
    told = admin.texts(await admin.tap_value("paid"))
    assert "узнать баланс звёзд бота сейчас не получилось" in told, told
    assert asyncio.get_running_loop().time() - started < 20, "not the 30 s Telegram asked for"


@pytest.fixture
async def both_app(vk: VkEmulator, emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_vk_app(
        vk, db_url, telegram=emulator, admin_ids=f"tg:{ADMIN}", quiet_hours="off", working_hours="off"
    )
    yield app
    await app.stop()


async def test_vk_families_get_the_telegram_admins_photo_uploaded_once(
    vk: VkEmulator, emulator: TelegramEmulator, both_app: Application
) -> None:
    handled = HandledUpdates(both_app)
    vk_families = [VkParent(vk=vk, handled=handled, user=vk.user(uid)) for uid in (7201, 7202, 7203)]
    for family in vk_families:
        await family.start()
        await family.tap_value("yes")
        await family.tap_value("ann_yes")
    tg_family = Parent(emulator=emulator, handled=handled, user_id=5221)
    await subscribed(tg_family)
    admin = Parent(emulator=emulator, handled=handled, user_id=ADMIN)
    await admin.say("/broadcast")
    await admin.send(photo=True, caption="Бесплатный юрист в четверг")
    await admin.walk("skip", "all", "now")
    await send_everything(both_app)
    assert len(vk.calls_of("photos.getMessagesUploadServer")) == 1, "uploaded to VK once, not per family"
    assert len(vk.calls_of("photos.saveMessagesPhoto")) == 1
    [uploaded] = vk.uploaded.values()
    own = emulator.user_messages[ADMIN][-1].raw["photo"][-1]["file_id"]
    assert uploaded.data == emulator.files.get(own, uploaded.data) and uploaded.data, "the admin's photo"
    refs = set()
    for family in vk_families:
        got = [m for m in family.messages() if "четверг" in m.text]
        assert len(got) == 1 and got[0].attachment, "exactly once, with the photo"
        refs.add(got[0].attachment)
    assert len(refs) == 1, "every VK family gets the one upload"
    [tg_got] = [m for m in emulator.sent_to(tg_family.chat_id) if m.raw.get("photo")]
    assert tg_got.raw["photo"][-1]["file_id"] == own
    assert not vk.spec_errors and not emulator.spec_errors


@pytest.fixture
async def max_and_tg_app(
    max_emu: MaxEmulator, emulator: TelegramEmulator, db_url: str
) -> AsyncIterator[Application]:
    app = await start_max_app(max_emu, db_url, telegram=emulator, admin_ids=f"tg:{ADMIN}", quiet_hours="off")
    yield app
    await app.stop()


async def test_max_families_get_the_telegram_admins_document_uploaded_once(
    max_emu: MaxEmulator, emulator: TelegramEmulator, max_and_tg_app: Application
) -> None:
    handled = HandledUpdates(max_and_tg_app)
    families = [MaxParent(emu=max_emu, handled=handled, user=max_emu.user(uid)) for uid in (8201, 8202)]
    for family in families:
        await family.start()
        await family.tap_value("yes")
        await family.tap_value("ann_yes")
    admin = Parent(emulator=emulator, handled=handled, user_id=ADMIN)
    await admin.say("/broadcast")
    await admin.send(document=True, caption="Список документов для пособия")
    await admin.walk("skip", "all", "now")
    await send_everything(max_and_tg_app)
    uploads = [c for c in max_emu.calls if c[:2] == ("POST", "/uploads")]
    assert len(uploads) == 1 and uploads[0][2] == {"type": "file"}, "uploaded to MAX once"
    [(token, (kind, _name, data))] = max_emu.uploads.items()
    assert kind == "file" and data, "the admin's document"
    for family in families:
        files = [m for m in family.messages() if m.files()]
        texts = [m for m in family.messages() if "пособия" in m.text]
        assert len(files) == 1 and files[0].files()[0]["payload"]["token"] == token, "the one upload"
        assert len(texts) == 1, "and the text after it (a MAX file goes alone), exactly once"


VK_ADMIN = 7990


@pytest.fixture
async def vk_admin_app(vk: VkEmulator, emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_vk_app(
        vk, db_url, telegram=emulator, admin_ids=f"vk:{VK_ADMIN}", quiet_hours="off", working_hours="off"
    )
    yield app
    await app.stop()


async def test_a_vk_admins_photo_goes_by_its_ref_on_vk_and_by_its_link_to_telegram(
    vk: VkEmulator, emulator: TelegramEmulator, vk_admin_app: Application
) -> None:
    handled = HandledUpdates(vk_admin_app)
    vk_family = VkParent(vk=vk, handled=handled, user=vk.user(7301))
    await vk_family.start()
    await vk_family.tap_value("yes")
    await vk_family.tap_value("ann_yes")
    tg_family = Parent(emulator=emulator, handled=handled, user_id=5301)
    await subscribed(tg_family)
    admin = VkParent(vk=vk, handled=handled, user=vk.user(VK_ADMIN))
    await admin.say("/broadcast")
    photo = admin.user.photo()
    await admin.send(photo, text="Раздача одежды в пятницу")
    await admin.tap_value("skip")
    await admin.tap_value("all")
    shown = [m for m in admin.messages() if "пятницу" in m.text and m.attachment]
    assert shown, "the preview carries the photo:\n" + vk.dump()
    await admin.tap_value("now")
    await send_everything(vk_admin_app)
    assert not vk.calls_of("photos.getMessagesUploadServer"), "a VK file is sent again by its ref"
    [got] = [m for m in vk_family.messages() if "пятницу" in m.text]
    assert got.attachment == shown[0].attachment
    [tg_got] = [m for m in emulator.sent_to(tg_family.chat_id) if m.raw.get("photo")]
    sent = next(c for c in emulator.calls_of("sendPhoto") if str(c.params.get("chat_id")) == str(5301))
    assert str(sent.params.get("photo", "")).startswith("http"), "Telegram fetches it by its link"
    assert "пятницу" in (tg_got.text or "")
