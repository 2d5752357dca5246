"""Files an admin asks for (QR codes, exports) are sent after the turn's commit: an upload that
takes its time holds no family's turn behind SQLite's write lock, and one that fails is reported
instead of the promise that the files came."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from handlers import conversation
from handlers.ports import DeliveryFailedError, FileData
from storage.uow import Database
from tests.directory_support import admin, service
from tests.e2e import HandledUpdates, Parent, start_app
from tests.fakes import FakeMessenger

ADMIN = 903
FAMILY = 5203
UPLOAD_TAKES = 2.0  # seconds the emulator holds the first QR code's upload
PATIENCE = 0.5  # how long a probe waits for the write lock (a turn's own commit takes milliseconds)


@pytest.fixture
async def app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}")
    yield app
    await app.stop()


def sqlite_path(db_url: str) -> str:
    if not db_url.startswith("sqlite"):
        pytest.fail("these tests are about SQLite's one write lock: run them on SQLite")
    return db_url.split("///", 1)[1]


def write_lock_free(path: str) -> bool:
    """Whether another program could start writing the file within ``PATIENCE``."""
    connection = sqlite3.connect(path, timeout=PATIENCE, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        connection.close()


async def at_links(emulator: TelegramEmulator, app: Application) -> Parent:
    admin = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=ADMIN)
    await admin.say("/admin")
    await admin.tap_value("links")
    return admin


async def test_a_slow_upload_holds_no_write_lock(
    emulator: TelegramEmulator, app: Application, db_url: str
) -> None:
    path = sqlite_path(db_url)
    admin = await at_links(emulator, app)
    emulator.fail_next("sendDocument", timeout=True, delay=UPLOAD_TAKES)  # answers, but late
    tap = asyncio.create_task(admin.tap_value("qr.tg"))
    probes: list[bool] = []
    await emulator.wait_for(lambda: bool(emulator.calls_of("sendDocument")) or tap.done(), timeout=10)
    while not tap.done():
        probes.append(await asyncio.to_thread(write_lock_free, path))
        await asyncio.sleep(0.05)
    replies = await tap
    assert len(probes) >= 3, "the upload was slow enough to probe the lock several times"
    assert all(probes), f"the write lock was held while the file went: {probes}"
    # A family who writes meanwhile is not held up either (and the admin's files all came).
    family = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=FAMILY)
    assert await family.say("/start")
    sent = [m for m in emulator.sent_to(ADMIN) if "document" in m.raw]
    assert len(sent) == 6 and "6" in admin.texts(replies)


async def test_an_upload_that_fails_is_reported_instead_of_the_promise(
    emulator: TelegramEmulator, app: Application
) -> None:
    admin = await at_links(emulator, app)
    emulator.fail_next("sendDocument", error_code=400, description="Bad Request: file is too big", times=99)
    replies = await admin.tap_value("qr.tg")
    text = admin.texts(replies)
    assert "Отправить файл сюда не получилось" in text, text
    everything = " ".join(m.text or "" for m in emulator.sent_to(ADMIN))
    assert "QR-коды отправлены" not in everything, "no report that the codes were sent"
    # The dialog is where that turn left it: the links again, one tap away.
    await admin.tap_value("back_links")  # shown in place of the report
    assert "https://t.me/" in (emulator.last_sent(ADMIN).text or "")


class RefusingFiles(FakeMessenger):
    """Texts go; files fail while ``down`` (a messenger's file upload out of order)."""

    down = False

    async def upload_files(self, chat_id: int, files: Sequence[FileData], **kwargs: Any) -> list[int]:
        if self.down:
            raise DeliveryFailedError("the upload server is down")
        return await super().upload_files(chat_id, files, **kwargs)


@pytest.mark.parametrize("where", ["figures", "directory"])
async def test_an_export_that_fails_is_reported_and_the_dialog_goes_on(
    db: Database, translators: Translators, directory: Directory, where: str
) -> None:
    messenger = RefusingFiles()
    a = admin(service(db, messenger, translators, directory))
    await a.send(Event(kind=EventKind.COMMAND, command="admin"))
    await a.press("adm_home", where)
    state, value = ("fig_home", "export") if where == "figures" else ("dir_list", "export")
    messenger.down = True
    before = len(messenger.sent)
    await a.press(state, value)
    told = [screen.text for _, screen in messenger.sent[before:]]
    assert any("Отправить файл сюда не получилось" in text for text in told), told
    assert not any("Справочник в файле CSV" in text or "Заявок:" in text for text in told), told
    messenger.down = False
    await a.press(state, value)  # the same button works once the messenger is back
    assert messenger.documents, "the export came on the second try"


async def test_a_telegram_400_on_an_export_is_reported(emulator: TelegramEmulator, app: Application) -> None:
    """The figures' files go through the upload flow (not send_document): a 400 there is told too."""
    admin = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=ADMIN)
    await admin.say("/admin")
    await admin.tap_value("figures")
    emulator.fail_next("sendDocument", error_code=400, description="Bad Request: file is too big", times=99)
    replies = await admin.tap_value("export")
    assert "Отправить файл сюда не получилось" in admin.texts(replies)


async def test_files_due_when_the_process_died_are_owned_up_to_after_the_restart(
    emulator: TelegramEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The turn committed, then the process died before the files went: the update comes again at
    the start, and the admin is told the files could not be sent, not left with nothing."""

    died = asyncio.Event()

    async def dies(*_args: object) -> bool:
        died.set()
        raise RuntimeError("the process dies between the commit and the files")

    first = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}")
    try:
        admin = await at_links(emulator, first)
        monkeypatch.setattr(conversation, "send_uploads", dies)
        before = len(emulator.sent_to(ADMIN))
        target = admin.last_with_buttons()
        [data] = [d for _label, d in emulator.buttons(target) if d.endswith(":qr.tg")]
        emulator.callback(ADMIN, target.message_id, data)
        async with asyncio.timeout(10):
            await died.wait()
        assert len(emulator.sent_to(ADMIN)) == before, "nothing went before the crash"
    finally:
        await first.stop()
    monkeypatch.undo()
    again = await start_app(emulator, db_url, admin_ids=f"tg:{ADMIN}")
    try:
        await emulator.wait_for(lambda: len(emulator.sent_to(ADMIN)) > before, timeout=10)
        told = " ".join(m.text or "" for m in emulator.sent_to(ADMIN)[before:])
        assert "Отправить файл сюда не получилось" in told and "QR-коды отправлены" not in told, told
    finally:
        await again.stop()
