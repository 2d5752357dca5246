"""The directory's CSV import downloads the file before the turn's transaction: no connection (so
no transaction, and not SQLite's one writer) is held during the download, and the import stays all
or nothing."""

from __future__ import annotations

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind
from dialogs.resources import FIELDS
from handlers.directory_admin import to_resource
from storage.uow import Database
from tests.directory_support import WatchingMessenger, admin, document, last_text, service

HEADER = ",".join(FIELDS)


async def names(db: Database) -> list[str]:
    async with db.uow() as uow:
        return [to_resource(r).name_ru for r in await uow.resources.all()]


async def test_the_file_is_fetched_with_no_transaction_open(
    db: Database, translators: Translators, directory: Directory
) -> None:
    messenger = WatchingMessenger(db)
    a = admin(service(db, messenger, translators, directory))
    await a.send(Event(kind=EventKind.COMMAND, command="directory"))
    before = await names(db)

    messenger.files["tg:bad"] = (
        f"{HEADER}\nГуд,,,,legal,msk,112,,,,\nПлох,,,,astrology,msk,112,,,,\n".encode()
    )
    await a.send(document("tg:bad"))
    assert "3" in last_text(messenger) and "astrology" in last_text(messenger)
    assert await names(db) == before, "a bad row changes nothing"

    messenger.files["tg:good"] = f"{HEADER}\nЦентр,,,,legal,msk,112,,,,\nЛиния,,,,,,8-800,,,,\n".encode()
    await a.send(document("tg:good"))
    assert sorted(await names(db)) == ["Линия", "Центр"]
    assert messenger.open_during_fetch == [0, 0], "both downloads ran outside any transaction"

    messenger.files["tg:huge"] = b"name_ru,phone\n" + b"x,1\n" * 300_000
    await a.send(document("tg:huge"))
    assert "1000" in last_text(messenger), "too big: refused by the download's own limit"
    assert sorted(await names(db)) == ["Линия", "Центр"]


async def test_a_file_is_fetched_only_where_a_step_reads_it(
    db: Database, translators: Translators, directory: Directory
) -> None:
    messenger = WatchingMessenger(db)
    a = admin(service(db, messenger, translators, directory))
    await a.send(Event(kind=EventKind.COMMAND, command="admin"))
    await a.send(document("tg:somewhere"))
    assert messenger.open_during_fetch == [], "the admin's home reads no file: nothing is downloaded"
