"""The directory of help: admins add, change, remove, import and export; families see their region's."""

from __future__ import annotations

import pytest

from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Role
from dialogs.resources import FIELDS
from handlers.conversation import ConversationService
from handlers.directory_admin import import_csv, to_resource
from storage.uow import Database
from storage.vocabulary import Category, Platform
from tests.directory_support import admin, document, last_text, service
from tests.fakes import FakeMessenger, Family

HEADER = ",".join(FIELDS)


async def resources(db: Database) -> list[tuple[str, ...]]:
    async with db.uow() as uow:
        rows = [to_resource(r) for r in await uow.resources.all()]
    return [(r.name_ru, r.phone, ";".join(r.regions), ";".join(r.categories)) for r in rows]


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


@pytest.fixture
def svc(
    db: Database, messenger: FakeMessenger, translators: Translators, directory: Directory
) -> ConversationService:
    return service(db, messenger, translators, directory)


async def test_the_shipped_contacts_are_seeded(db: Database, directory: Directory) -> None:
    seeded = await resources(db)
    assert [phone for _, phone, _, _ in seeded] == [c.phone for c in directory.contacts]
    assert all(regions == "" for _, _, regions, _ in seeded)  # national lines


async def test_admin_adds_changes_and_removes_a_resource(
    svc: ConversationService, db: Database, messenger: FakeMessenger
) -> None:
    a = admin(svc)
    await a.send(Event(kind=EventKind.COMMAND, command="admin"))
    await a.press("adm_home", "directory")
    await a.press("dir_list", "add")
    await a.text("Центр помощи семье")
    added = (await resources(db))[-1]
    assert added == ("Центр помощи семье", "", "", "")
    await a.press("dir_view", "f.phone")
    await a.text("не телефон")  # refused, nothing changes
    assert (await resources(db))[-1] == added
    await a.text("+7 (495) 000-00-00")
    await a.press("dir_view", "f.regions")
    await a.text("Москва, spb, Атлантида")  # one unknown region: nothing changes
    assert (await resources(db))[-1][2] == ""
    await a.text("Москва, spb")
    await a.press("dir_view", "f.categories")
    await a.press("dir_cats", "c.legal")
    await a.press("dir_cats", "c.housing")
    await a.press("dir_cats", "c.legal")
    await a.press("dir_cats", "save")
    assert (await resources(db))[-1] == ("Центр помощи семье", "+7 (495) 000-00-00", "msk;spb", "housing")
    count = len(await resources(db))
    await a.press("dir_view", "remove")
    await a.press("dir_remove", "yes")
    assert len(await resources(db)) == count - 1
    assert "Центр помощи семье" not in [name for name, *_ in await resources(db)]


async def test_csv_round_trip_gives_the_same_directory(
    svc: ConversationService, db: Database, messenger: FakeMessenger
) -> None:
    a = admin(svc)
    await a.send(Event(kind=EventKind.COMMAND, command="directory"))
    await a.press("dir_list", "add")
    await a.text('Юрист, "с кавычками"\nи переносом')
    await a.press("dir_view", "f.about_ru")
    await a.text('Первая строка\nвторая; третья, "четвёртая"')
    await a.press("dir_view", "f.regions")
    await a.text("msk")
    before = await resources(db)
    await a.send(Event(kind=EventKind.COMMAND, command="directory"))
    await a.press("dir_list", "export")
    [(chat, name, content)] = messenger.documents
    assert chat == 7 and name == "directory.csv" and content.startswith(b"\xef\xbb\xbf")
    async with db.uow() as uow:
        await uow.resources.replace_all([])
    assert await resources(db) == []
    messenger.files["tg:export"] = content
    await a.send(document("tg:export"))
    assert await resources(db) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"{HEADER}\nГуд,,,,legal,msk,112,,,,\nПлох,,,,astrology,msk,112,,,,\n".encode(), ["3", "astrology"]),
        (f"{HEADER}\nГуд,,,,,,112,,,,\n,,,,,,112,,,,\n".encode(), ["3", "name_ru"]),
        (f"{HEADER}\nГуд,,,,,,112\n".encode(), ["2", "7", "11"]),
        (f'{HEADER}\n"Открытая кавычка,,,,,,112,,,,\n'.encode(), []),
        ("name_ru,phone\nЦентр,112\nЦентр,abc\n".encode("cp1251"), ["2"]),
        (b"name_ru,phone\n" + b"x,1\n" * 300_000, ["1000"]),
        (b"name_ru,phone\n" + b"x,1\n" * 6000, ["5002", "5000"]),
        (b"name_ru,colour\nx,red\n", ["1", "name_ru"]),
        (b"", ["1"]),
    ],
    ids=[
        "unknown-category",
        "empty-name",
        "short-row",
        "open-quote",
        "cp1251",
        "huge",
        "too-many-rows",
        "unknown-column",
        "empty",
    ],
)
async def test_a_bad_file_changes_nothing_and_names_the_line(
    svc: ConversationService, db: Database, messenger: FakeMessenger, content: bytes, expected: list[str]
) -> None:
    before = await resources(db)
    a = admin(svc)
    await a.send(Event(kind=EventKind.COMMAND, command="directory"))
    messenger.files["tg:bad"] = content
    await a.send(document("tg:bad"))
    assert await resources(db) == before
    answer = last_text(messenger)
    for part in expected:
        assert part in answer


async def test_import_use_case_is_all_or_nothing(db: Database) -> None:
    good = f"{HEADER}\nА,,,,legal,msk,112,,,,\nБ,,,,,spb,,,,,https://example.org\n".encode()
    async with db.uow() as uow:
        assert await import_csv(uow, good, frozenset({"msk", "spb"})) == 2
    assert await resources(db) == [("А", "112", "msk", "legal"), ("Б", "", "spb", "")]
    bad = good + "В,,,,,nowhere,,,,,ftp://x\n".encode()
    async with db.uow() as uow:
        report = await import_csv(uow, bad, frozenset({"msk", "spb"}))
    assert not isinstance(report, int)
    assert [line.params.get("line") for line in report.lines if "line" in line.params] == [4, 4]
    assert len(await resources(db)) == 2
    # Excel's Russian default: ";" between columns.
    semicolons = "name_ru;phone;regions\nВ;102;msk\n".encode()
    async with db.uow() as uow:
        assert await import_csv(uow, semicolons, frozenset({"msk"})) == 1
    assert await resources(db) == [("В", "102", "msk", "")]


async def test_families_see_their_region_and_category_and_always_the_national_lines(
    svc: ConversationService, db: Database, messenger: FakeMessenger
) -> None:
    async with db.uow() as uow:
        await uow.resources.save(
            None, {"name_ru": "Юристы Москвы", "regions": ["msk"], "categories": ["legal"]}
        )
        await uow.resources.save(
            None, {"name_ru": "Психологи Москвы", "regions": ["msk"], "categories": ["psychological"]}
        )
        await uow.resources.save(None, {"name_ru": "Всё для Питера", "regions": ["spb"], "categories": []})
    family = Family(svc, user_id=42)

    async def contacts() -> str:
        before = len(messenger.sent)
        await family.send(Event(kind=EventKind.COMMAND, command="contacts"))
        return "\n".join(screen.text for _, screen in messenger.sent[before:])

    text = await contacts()
    assert "112" in text and "8-800-2000-122" in text  # no region known: national lines only
    assert "Москвы" not in text and "Питера" not in text
    await family.send(Event(kind=EventKind.COMMAND, command="start"))
    await family.press("consent", "yes")
    await family.press("menu", "new")
    await family.press("t_danger", "no")
    await family.press("t_category", "legal")
    assert "Юристы Москвы" not in await contacts()  # no region yet
    async with db.uow() as uow:
        person = await uow.people.get("tg:42")
        assert person is not None
        await uow.people.set_region(person, "msk")
    text = await contacts()
    assert "Юристы Москвы" in text and "Психологи Москвы" not in text and "Питера" not in text
    assert text.index("Юристы Москвы") < text.index("112")  # their own region's first
    assert "8-800-2000-122" in text


FORGED = [
    ("adm_home", "directory"),
    ("dir_list", "export"),
    ("dir_list", "add"),
    ("dir_remove", "yes"),
    ("dir_cats", "save"),
    ("fig_home", "d7"),
    ("fig_home", "export"),
]


async def test_non_admins_are_refused_every_command_and_button(
    svc: ConversationService, db: Database, messenger: FakeMessenger
) -> None:
    before = await resources(db)
    family = Family(svc, user_id=42)
    for command in ("admin", "directory", "figures"):
        await family.send(Event(kind=EventKind.COMMAND, command=command))
        assert "Directory" not in last_text(messenger) and "📚" not in last_text(messenger)
    for step, value in FORGED:
        await family.press(step, value)
    messenger.files["tg:f"] = f"{HEADER}\nX,,,,,,,,,,\n".encode()
    await family.send(document("tg:f"))
    assert messenger.documents == []
    assert await resources(db) == before


async def test_a_forged_state_cannot_change_the_directory(
    svc: ConversationService, db: Database, messenger: FakeMessenger
) -> None:
    """Someone no longer an admin, left in the directory dialog: the server still refuses."""
    async with db.uow() as uow:
        await uow.people.get_or_create("tg:42", Platform.TELEGRAM, "ru")
        await uow.dialogs.save("tg:42", "dir_remove", {"resource": 1})
    before = await resources(db)
    family = Family(svc, user_id=42, role=Role.FAMILY)
    await family.press("dir_remove", "yes")
    await family.press("dir_list", "export")
    messenger.files["tg:f"] = f"{HEADER}\nX,,,,,,,,,,\n".encode()
    await family.send(document("tg:f"))
    assert await resources(db) == before and messenger.documents == []


def test_resource_filter() -> None:
    from dialogs.resources import Resource, for_family

    national = Resource(id=1, name_ru="112", categories=(Category.LEGAL,))
    msk_legal = Resource(id=2, name_ru="a", regions=("msk",), categories=(Category.LEGAL,))
    msk_any = Resource(id=3, name_ru="b", regions=("msk",))
    spb = Resource(id=4, name_ru="c", regions=("spb",))
    every = (national, msk_legal, msk_any, spb)
    assert for_family(every, "msk", Category.HOUSING) == [msk_any, national]
    assert for_family(every, "msk", Category.LEGAL) == [msk_legal, msk_any, national]
    assert for_family(every, None, None) == [national]
