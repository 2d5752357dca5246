"""An admin on MAX gets exports as files through MAX's upload flow (POST /uploads, the multipart POST
to the one-time URL, then the file by its token), against the MAX emulator."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.sandbox.max.emulator import MaxEmulator
from bot.sandbox.telegram.emulator import TelegramEmulator
from tests.e2e import GROUP, HandledUpdates, cards, make_tickets, press, settled
from tests.max_e2e import MaxParent, start_max_app


async def test_a_max_admin_gets_the_figures_and_the_directory_as_files(
    max_emu: MaxEmulator, db_url: str
) -> None:
    app = await start_max_app(max_emu, db_url, admin_ids="max:7301")
    try:
        # MAX still processing the file when it is first sent: the message is tried again.
        max_emu.fail("POST", "/messages", 400, times=2, code="attachment.not.ready")
        await make_tickets(app, 2, category="housing")
        admin = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(7301))
        await admin.say("/figures")
        replies = await admin.tap_value("export")
        assert "Telegram" not in admin.texts(replies), "no apology: the files came"
        names = {u.name: u.data for u in max_emu.uploads.values()}
        csv_name = next(n for n in names if n.endswith(".csv"))
        assert names[csv_name].decode("utf-8-sig").count("housing") == 2
        sheet = load_workbook(io.BytesIO(names[csv_name.replace(".csv", ".xlsx")]))["requests"]
        assert sheet.max_row == 3
        files = [a for m in admin.messages() for a in m.attachments if a["type"] == "file"]
        assert {a["payload"]["token"] for a in files} == set(max_emu.uploads)
        assert max_emu.upload_auth == [None, None], "our token never reaches the upload host"

        await admin.say("/directory")
        await admin.tap_value("export")
        [(_name, data)] = [(u.name, u.data) for u in max_emu.uploads.values() if u.name == "directory.csv"]
        assert data.decode("utf-8-sig").startswith("name_ru")
        max_emu.assert_no_spec_errors()
    finally:
        await app.stop()


async def test_a_telegram_coordinators_file_reaches_a_max_family_as_an_upload(
    max_emu: MaxEmulator, emulator: TelegramEmulator, db_url: str
) -> None:
    app = await start_max_app(max_emu, db_url, telegram=emulator, coordinator_chat=f"tg:{GROUP}")
    try:
        family = MaxParent(emu=max_emu, handled=HandledUpdates(app), user=max_emu.user(8601))
        await family.start()
        await family.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
        await family.say("Нужен юрист")
        await family.walk("done", "chat", "send")
        await emulator.wait_for(lambda: bool(cards(emulator)))
        await settled(app)
        [card] = cards(emulator)
        await press(emulator, 201, card, emulator.button_data(card, "Беру"))
        await family.say("Какие документы нужны?")
        await emulator.wait_for(
            lambda: any("документы нужны" in (m.text or "") for m in emulator.sent_to(GROUP))
        )
        await settled(app)
        question = next(m for m in emulator.sent_to(GROUP) if "документы нужны" in (m.text or ""))
        emulator.message(
            201,
            None,
            chat_id=GROUP,
            chat_type="supergroup",
            reply_to_message_id=question.message_id,
            document=True,
        )
        await max_emu.wait_for(
            lambda: any(a["type"] == "file" for m in family.messages() for a in m.attachments), timeout=10
        )
        [(_kind, _name, data)] = max_emu.uploads.values()
        assert data, "the bytes downloaded from Telegram were uploaded to MAX"
        assert not any("мессенджер" in (m.text or "") for m in emulator.sent_to(GROUP)), "no refusal"
    finally:
        await app.stop()
