"""The directory of help end to end on Telegram: the real aiogram Bot against the emulator, an admin
exporting and importing a CSV file (getFile and the file download), and the checks on every row."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.vk.emulator import VkEmulator
from tests.directory_support import documents, send_file
from tests.e2e import HandledUpdates, Parent, start_app
from tests.vk_e2e import VkParent, start_vk_app

ADMIN = 901


@pytest.fixture
async def admin_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}")
    yield app
    await app.stop()


async def test_an_admin_exports_and_imports_the_directory(
    emulator: TelegramEmulator, admin_app: Application
) -> None:
    admin = Parent(emulator=emulator, handled=HandledUpdates(admin_app), user_id=ADMIN)
    await admin.say("/admin")
    replies = await admin.tap_value("directory")
    assert "Справочник" in admin.texts(replies) or "Directory" in admin.texts(replies)
    await admin.tap_value("export")
    [exported] = documents(emulator, ADMIN)
    text = exported.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("name_ru,name_en")
    assert "8-800-2000-122" in text and "Детский телефон доверия" in text

    # A file with a bad row: the line is named, nothing changes.
    bad = text + "Центр,,,,astrology,msk,,,,,\r\n"
    replies = await send_file(admin, bad.encode("utf-8"))
    answer = admin.texts(replies)
    assert "7" in answer and "astrology" in answer
    await admin.tap_value("export")
    assert documents(emulator, ADMIN)[-1] == exported

    # A good one replaces the directory; the export then gives back the same file.
    good = text + "Центр семьи,,Консультации,,legal;housing,msk,+7 495 000-00-00,,,,https://example.org\r\n"
    replies = await send_file(admin, good.encode("utf-8"))
    assert "6" in admin.texts(replies)
    await admin.tap_value("export")
    assert documents(emulator, ADMIN)[-1].decode("utf-8-sig") == good


async def test_a_family_cannot_send_the_directory_a_file_or_press_its_buttons(
    emulator: TelegramEmulator, admin_app: Application
) -> None:
    family = Parent(emulator=emulator, handled=HandledUpdates(admin_app), user_id=5003)
    await family.say("/start")
    await family.tap_value("yes")
    for command in ("/directory", "/figures", "/admin"):
        replies = await family.say(command)
        assert "Справочник" not in family.texts(replies) and "Цифры" not in family.texts(replies)
    # A forged callback for the directory's export, and a CSV file: nothing comes back as a file.
    menu = family.last_with_buttons()
    await family.press(menu.message_id, "d:dir_list:export")
    await send_file(family, b"name_ru\nX\n")
    assert documents(emulator, 5003) == []
    admin = Parent(emulator=emulator, handled=HandledUpdates(admin_app), user_id=ADMIN)
    await admin.say("/directory")
    await admin.tap_value("export")
    assert b"\r\nX\r\n" not in documents(emulator, ADMIN)[-1]


async def test_a_vk_admin_file_is_read_by_its_link(vk: VkEmulator, db_url: str) -> None:
    """VK: the file is fetched from the link VK gives it (the emulator serves filler, not a table):
    the answer names line 1, which only a file that was actually read can do."""
    app = await start_vk_app(vk, db_url, admin_ids="vk:7101")
    try:
        admin = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7101))
        await admin.say("/directory")
        replies = await admin.send(admin.user.doc())
        answer = admin.texts(replies)
        assert "Строка 1" in answer and "name_ru" in answer
        assert app.db is not None
        async with app.db.uow() as uow:
            assert len(await uow.resources.all()) == 5  # the seeded lines, untouched
        replies = await admin.tap_value("export")
        # VK sends the file too, through its upload flow (docs.getMessagesUploadServer, docs.save).
        [upload] = [u for u in vk.uploaded.values() if u.name == "directory.csv"]
        assert upload.peer_id == 7101 and upload.kind == "doc"
        assert upload.data.decode("utf-8-sig").startswith("name_ru")
        assert any((m.attachment or "").startswith("doc") for m in replies)
    finally:
        await app.stop()
