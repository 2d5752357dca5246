"""An admin on VK gets the figures' export (CSV and XLSX) as files, uploaded through VK's upload flow
to the emulator (docs.getMessagesUploadServer, the multipart POST, docs.save, messages.send)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.sandbox.vk.emulator import VkEmulator
from tests.e2e import HandledUpdates, make_tickets
from tests.vk_e2e import VkParent, start_vk_app


async def test_a_vk_admin_gets_the_figures_as_csv_and_xlsx(vk: VkEmulator, db_url: str) -> None:
    app = await start_vk_app(vk, db_url, admin_ids="vk:7201")
    try:
        await make_tickets(app, 3, category="legal")
        admin = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7201))
        await admin.say("/figures")
        replies = await admin.tap_value("export")
        files = {u.name.rsplit(".", 1)[1]: u for u in vk.uploaded.values() if u.peer_id == 7201}
        assert set(files) == {"csv", "xlsx"} and all(u.kind == "doc" for u in files.values())
        lines = files["csv"].data.decode("utf-8-sig").strip().splitlines()
        assert len(lines) == 4 and lines[1].count("legal") == 1, "a header and one line per request"
        sheet = load_workbook(io.BytesIO(files["xlsx"].data))["requests"]
        assert sheet.max_row == 4
        sent = [m.attachment for m in vk.sent_to(7201) if m.attachment]
        assert len(sent) == 2 and all(a.startswith("doc") for a in sent)
        assert "Telegram" not in admin.texts(replies), "no apology: the files came"
    finally:
        await app.stop()


async def test_a_vk_refusal_in_the_upload_flow_is_told_to_the_admin(vk: VkEmulator, db_url: str) -> None:
    """VK refuses the upload server (error 15, access denied): the admin is told the files could not
    be sent, after the turn's commit, instead of the figures that promise them."""
    app = await start_vk_app(vk, db_url, admin_ids="vk:7202")
    try:
        admin = VkParent(vk=vk, handled=HandledUpdates(app), user=vk.user(7202))
        await admin.say("/figures")
        vk.fail("docs.getMessagesUploadServer", 15, times=5)
        replies = await admin.tap_value("export")
        assert "Отправить файл сюда не получилось" in admin.texts(replies)
        assert not [u for u in vk.uploaded.values() if u.peer_id == 7202]
    finally:
        await app.stop()
