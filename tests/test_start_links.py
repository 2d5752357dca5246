"""Start links and QR codes: /links for admins, and a family who comes by a link starts with that
kind of help chosen (after consent and the danger question), on Telegram, VK and MAX."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.telegram.objects import BOT_USERNAME
from bot.sandbox.vk.emulator import VkEmulator
from dialogs.start_links import category_of, payload_for
from handlers.start_links import qr_png
from storage.vocabulary import Category
from tests.directory_support import documents
from tests.e2e import HandledUpdates, Parent, start_app
from tests.links_support import dialog_of, greyscale, read_qr
from tests.max_e2e import MaxParent, start_max_app
from tests.vk_e2e import VK_GROUP, VkParent, start_vk_app

ADMIN = 902
FAMILY = 5101


@pytest.fixture
async def links_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}")
    yield app
    await app.stop()


def test_payloads_name_a_kind_of_help_and_nothing_else() -> None:
    for category in Category:
        assert category_of(payload_for(category)) is category
    for forged in ("help_astrology", "help_", "legal", "", "help_legal ", "HELP_LEGAL", "help_legal;drop"):
        assert category_of(forged) is None


def test_a_qr_code_is_a_png_that_reads_back_as_its_link() -> None:
    link = f"https://t.me/{BOT_USERNAME}?start=help_housing"
    png = qr_png(link)
    width, height, _ = greyscale(png)
    assert width == height and width >= 200  # big enough to print
    assert read_qr(png) == [link]


async def test_an_admin_gets_a_link_and_a_qr_code_per_kind_of_help(
    emulator: TelegramEmulator, links_app: Application
) -> None:
    admin = Parent(emulator=emulator, handled=HandledUpdates(links_app), user_id=ADMIN)
    await admin.say("/admin")
    text = admin.texts(await admin.tap_value("links"))
    base = f"https://t.me/{BOT_USERNAME}?start="
    for category in Category:
        assert base + payload_for(category) in text
    replies = await admin.tap_value("qr.tg")
    sent = [m for m in emulator.sent_to(ADMIN) if "document" in m.raw]
    assert [m.raw["document"]["file_name"] for m in sent][1:] == [f"qr_tg_{c.value}.png" for c in Category]
    decoded = [read_qr(png) for png in documents(emulator, ADMIN)]
    assert decoded[1:] == [[base + payload_for(c)] for c in Category]
    assert decoded[0] == [f"https://t.me/{BOT_USERNAME}"]
    assert [m.raw.get("caption") for m in sent] == [d[0] for d in decoded]
    assert "6" in admin.texts(replies)  # how many were sent


async def test_a_family_by_a_link_gets_consent_and_danger_first_then_its_kind_of_help(
    emulator: TelegramEmulator, links_app: Application
) -> None:
    assert links_app.db is not None
    family = Parent(emulator=emulator, handled=HandledUpdates(links_app), user_id=FAMILY)
    await family.say("/start help_legal")
    assert (await dialog_of(links_app.db, f"tg:{FAMILY}"))[0] == "consent"
    await family.tap_value("yes")
    await family.tap_value("ann_no")  # announcements: their own question
    assert (await dialog_of(links_app.db, f"tg:{FAMILY}"))[0] == "t_danger"
    await family.tap_value("no")
    state, data = await dialog_of(links_app.db, f"tg:{FAMILY}")
    assert state == "q_legal_topic"  # the kind of help was not asked: the link chose it
    assert data["draft"]["category"] == "legal"
    # Back from there is the danger question, and the summary can still change the kind of help.
    await family.tap_value("back")
    assert (await dialog_of(links_app.db, f"tg:{FAMILY}"))[0] == "t_danger"


async def test_danger_yes_then_continue_also_keeps_the_linked_kind_of_help(
    emulator: TelegramEmulator, links_app: Application
) -> None:
    assert links_app.db is not None
    family = Parent(emulator=emulator, handled=HandledUpdates(links_app), user_id=FAMILY + 1)
    await family.say("/start")
    await family.tap_value("yes")  # consent, with no link: the menu
    await family.tap_value("ann_no")  # announcements: their own question
    assert (await dialog_of(links_app.db, f"tg:{FAMILY + 1}"))[0] == "menu"
    replies = await family.say("/start help_housing")  # already consented: straight to danger
    assert (await dialog_of(links_app.db, f"tg:{FAMILY + 1}"))[0] == "t_danger"
    assert "112" not in family.texts(replies)
    await family.tap_value("yes")
    await family.tap_value("continue")
    assert (await dialog_of(links_app.db, f"tg:{FAMILY + 1}"))[0] == "q_house_issue"


@pytest.mark.parametrize("payload", ["help_astrology", "<b>x</b>", "help_legal_extra", "d:t_category:legal"])
async def test_a_forged_payload_is_a_normal_start(
    emulator: TelegramEmulator, links_app: Application, payload: str
) -> None:
    assert links_app.db is not None
    family = Parent(emulator=emulator, handled=HandledUpdates(links_app), user_id=FAMILY + 2)
    await family.say(f"/start {payload}")
    assert (await dialog_of(links_app.db, f"tg:{FAMILY + 2}"))[0] == "consent"
    await family.tap_value("yes")
    await family.tap_value("ann_no")  # announcements: their own question
    state, data = await dialog_of(links_app.db, f"tg:{FAMILY + 2}")
    assert state == "menu" and data.get("draft") is None


async def test_a_family_cannot_ask_for_links_or_qr_codes(
    emulator: TelegramEmulator, links_app: Application
) -> None:
    family = Parent(emulator=emulator, handled=HandledUpdates(links_app), user_id=FAMILY + 3)
    await family.say("/start")
    await family.tap_value("yes")
    await family.tap_value("ann_no")  # announcements: their own question
    replies = await family.say("/links")
    assert "t.me" not in family.texts(replies)
    await family.press(family.last_with_buttons().message_id, "d:lnk_home:qr.tg")
    assert documents(emulator, FAMILY + 3) == []


async def test_a_vk_family_by_the_communitys_ref_link(vk: VkEmulator, db_url: str) -> None:
    app = await start_vk_app(vk, db_url, admin_ids="vk:7301")
    try:
        assert app.db is not None
        family = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7201))
        await family.start(ref="help_psychological")
        await family.tap_value("yes")
        await family.tap_value("ann_no")  # announcements: their own question
        assert (await dialog_of(app.db, "vk:7201"))[0] == "t_danger"
        await family.tap_value("no")
        assert (await dialog_of(app.db, "vk:7201"))[0] == "q_psy_who"

        forged = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7202))
        await forged.start(ref="help_nothing")
        await forged.tap_value("yes")
        await forged.tap_value("ann_no")  # announcements: their own question
        assert (await dialog_of(app.db, "vk:7202"))[0] == "menu"

        admin = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7301))
        await admin.start()
        await admin.tap_value("yes")
        await admin.tap_value("ann_no")  # announcements: their own question
        text = admin.texts(await admin.say("/links"))
        assert f"https://vk.me/club{VK_GROUP}?ref=help_legal" in text
        # The QR codes reach a VK admin too, through VK's upload flow.
        await admin.tap_value("qr.vk")
        pngs = [u for u in vk.uploaded.values() if u.name.endswith(".png")]
        assert len(pngs) == 1 + len(Category), [u.name for u in vk.uploaded.values()]
        assert [f"https://vk.me/club{VK_GROUP}?ref=help_legal"] in [read_qr(u.data) for u in pngs]
    finally:
        await app.stop()


async def test_a_max_family_by_the_bots_deep_link(max_emu: MaxEmulator, db_url: str) -> None:
    app = await start_max_app(max_emu, db_url, admin_ids="max:8301")
    try:
        assert app.db is not None
        family = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(8201))
        await family.start(payload="help_humanitarian")
        await family.tap_value("yes")
        await family.tap_value("ann_no")  # announcements: their own question
        assert (await dialog_of(app.db, "max:8201"))[0] == "t_danger"
        await family.tap_value("no")
        assert (await dialog_of(app.db, "max:8201"))[0] == "q_hum_needs"

        admin = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(8301))
        await admin.start()
        await admin.tap_value("yes")
        await admin.tap_value("ann_no")  # announcements: their own question
        text = admin.texts(await admin.say("/links"))
        assert "https://max.ru/family_bot?start=help_housing" in text
        # The QR codes reach a MAX admin too, through MAX's upload flow.
        await admin.tap_value("qr.max")
        await max_emu.wait_for(lambda: len(max_emu.uploads) >= 1 + len(Category))
        pngs = [u for u in max_emu.uploads.values() if u.name.endswith(".png")]
        assert len(pngs) == 1 + len(Category), [u.name for u in max_emu.uploads.values()]
        assert ["https://max.ru/family_bot?start=help_housing"] in [read_qr(u.data) for u in pngs]
    finally:
        await app.stop()
