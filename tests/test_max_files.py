"""MAX's side of files: uploads through /uploads (a file MAX is still processing is sent again a
little later), the size limits, exports as files, and downloads bounded by a limit."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.max import files as max_files
from bot.sandbox.max.emulator import MaxEmulator
from dialogs.state import Attachment
from handlers.ports import DeliveryFailedError, FileData, FileRefusedError, Messenger
from storage.vocabulary import AttachmentKind, Platform

FAMILY = 8701


def messenger(app: Application) -> Messenger:
    transport = app.transport(Platform.MAX)
    assert transport is not None
    return transport.messenger


async def test_a_file_still_processed_is_sent_again_a_little_later(
    max_emu: MaxEmulator, max_app: Application
) -> None:
    max_emu.fail("POST", "/messages", 400, times=2, code="attachment.not.ready")
    files = [
        FileData(kind=AttachmentKind.PHOTO, name="a.jpg", data=b"\xff\xd8 photo"),
        FileData(kind=AttachmentKind.VOICE, name="v.ogg", data=b"OggS voice"),
    ]
    ids = await messenger(max_app).upload_files(FAMILY, files)
    assert len(ids) == 2
    sent = [m for m in max_emu.in_dialog(FAMILY) if m.from_bot]
    assert [m.files()[0]["type"] for m in sent] == ["image", "file"], "a voice message goes as a file"
    assert [max_emu.uploads[m.files()[0]["payload"]["token"]].data for m in sent] == [
        b"\xff\xd8 photo",
        b"OggS voice",
    ]


async def test_a_file_too_big_for_max_sends_nothing(
    max_emu: MaxEmulator, max_app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(max_files, "IMAGE_MB", 1)
    files = [
        FileData(kind=AttachmentKind.DOCUMENT, name="ok.pdf", data=b"small"),
        FileData(kind=AttachmentKind.PHOTO, name="big.jpg", data=b"0" * (1024 * 1024 + 1)),
    ]
    with pytest.raises(FileRefusedError) as refused:
        await messenger(max_app).upload_files(FAMILY, files)
    assert refused.value.limit_mb == 1
    assert max_emu.in_dialog(FAMILY) == [] and not [c for c in max_emu.calls if c[1] == "/uploads"]


async def test_an_export_goes_as_a_file_with_its_caption(max_emu: MaxEmulator, max_app: Application) -> None:
    ids = await messenger(max_app).send_document(FAMILY, "figures.csv", b"a;b\n1;2\n", caption="Итоги")
    assert len(ids) == 2
    document, caption = [m for m in max_emu.in_dialog(FAMILY) if m.from_bot]
    [file] = document.files()
    assert file["filename"] == "figures.csv" and file["size"] == 8
    assert caption.text == "Итоги"
    max_emu.fail("POST", "/uploads", 500, times=10)
    with pytest.raises(DeliveryFailedError):
        await messenger(max_app).send_document(FAMILY, "again.csv", b"x")


async def test_a_download_stops_at_the_limit(max_emu: MaxEmulator, max_app: Application) -> None:
    url = max_emu.serve("scan.pdf", b"%PDF" + b"0" * 5000)
    scan = Attachment(kind=AttachmentKind.DOCUMENT, ref="max:file:scan", url=url, name="scan.pdf")
    got = await messenger(max_app).fetch_file(scan)
    assert (
        got is not None and got.name == "scan.pdf" and got.data.startswith(b"%PDF") and len(got.data) == 5004
    )
    with pytest.raises(FileRefusedError):
        await messenger(max_app).fetch_file(scan, limit=4096)
    gone = Attachment(kind=AttachmentKind.DOCUMENT, ref="max:file:gone", url=f"{max_emu.url}/files/gone")
    assert await messenger(max_app).fetch_file(gone) is None
    other = Attachment(kind=AttachmentKind.PHOTO, ref="tg:AgAD", url=url)
    assert await messenger(max_app).fetch_file(other) is None, "another messenger's file"
