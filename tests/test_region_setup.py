"""A region's own setup without editing code: ORG_NAME, ORG_HOTLINE, PRIVACY_POLICY_URL, REGIONS_FILE
and DIRECTORY_FILE reach the family's screens; a malformed file stops the start with one line that
names its variable."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from bot.app import Application
from bot.config import ConfigError, Settings, load_settings
from bot.sandbox.telegram.emulator import TelegramEmulator
from handlers.directory_file import CURSOR
from tests.e2e import TOKEN, HandledUpdates, Parent, start_app

ROOT = Path(__file__).resolve().parents[1]
ORG = "Семья Тулы"
HOTLINE = "8-800-100-20-30"
POLICY = "https://example.org/privacy"
REGIONS = {
    "regions": [
        {"code": "tula", "ru": "Тульская область", "en": "Tula Oblast", "tz": "Europe/Moscow", "line": "122"},
        {"code": "kchr", "ru": "Карачаево-Черкесия", "en": "Karachay-Cherkessia", "tz": "Europe/Moscow"},
    ]
}
HEADER = "name_ru,name_en,about_ru,about_en,categories,regions,phone,address,hours_ru,hours_en,link\r\n"
CENTRE = "Центр «Тульская семья»,,Консультации,,legal,,+7 4872 11-22-33,,,,\r\n"


def write(path: Path, content: str) -> str:
    path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return {
        "regions_file": write(tmp_path / "regions.json", json.dumps(REGIONS, ensure_ascii=False)),
        "directory_file": write(tmp_path / "directory.csv", HEADER + CENTRE),
    }


async def test_the_family_sees_the_regions_own_setup(
    emulator: TelegramEmulator, db_url: str, files: dict[str, str]
) -> None:
    app = await start_app(
        emulator, db_url, org_name=ORG, org_hotline=HOTLINE, privacy_policy_url=POLICY, **files
    )
    try:
        family = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=5301)
        consent = family.texts(await family.say("/start"))
        assert f"Ваши данные хранит «{ORG}»" in consent and HOTLINE in consent and POLICY in consent
        await family.tap_value("yes")
        assert f"«{ORG}»" in family.texts(await family.say("/start"))  # the greeting
        sos = family.texts(await family.say("/sos"))
        assert HOTLINE in sos and "112" in sos
        contacts = family.texts(await family.say("/contacts"))
        assert HOTLINE in contacts and "Тульская семья" in contacts and "+7 4872 11-22-33" in contacts
        assert f"«{ORG}»" in family.texts(await family.say("/my_data"))
        assert HOTLINE in family.texts(await family.say("/help"))
        await family.say("/new")
        await family.walk("no", "other", "0")
        regions = {data.rsplit(":", 1)[1] for _t, data in emulator.buttons(family.last_with_buttons())}
        assert {"r.tula", "r.kchr"} <= regions and not any(
            r.startswith("r.") and r not in {"r.tula", "r.kchr"} for r in regions
        )
        await family.tap_value("r.tula")
        assert "122" in family.texts(await family.say("/sos"))  # the region's own line, from the file
    finally:
        await app.stop()


async def test_without_a_setup_the_screens_read_as_before(emulator: TelegramEmulator, db_url: str) -> None:
    app = await start_app(emulator, db_url)
    try:
        family = Parent(emulator=emulator, handled=HandledUpdates(app), user_id=5302)
        consent = family.texts(await family.say("/start"))
        assert "Ваши данные хранит" not in consent and "наша собственная линия" not in consent
        assert HOTLINE not in family.texts(await family.say("/sos"))
    finally:
        await app.stop()


async def test_a_directory_file_is_read_when_it_changes_only(
    emulator: TelegramEmulator, db_url: str, files: dict[str, str], tmp_path: Path
) -> None:
    app = await start_app(emulator, db_url, **files)
    assert app.db is not None
    async with app.db.uow() as uow:
        assert [r.name_ru for r in await uow.resources.all()] == ["Центр «Тульская семья»"]
        (row,) = await uow.resources.all()
        row.name_ru = "Изменено администратором"
    await app.stop()
    app = await start_app(emulator, db_url, **files)  # the same file: the admin's edit stays
    assert app.db is not None
    async with app.db.uow() as uow:
        assert [r.name_ru for r in await uow.resources.all()] == ["Изменено администратором"]
        assert await uow.cursors.load(CURSOR)
    await app.stop()
    write(Path(files["directory_file"]), HEADER + CENTRE + "Вторая линия,,,,,,8-800-000-00-01,,,,\r\n")
    app = await start_app(emulator, db_url, **files)
    assert app.db is not None
    async with app.db.uow() as uow:
        assert len(await uow.resources.all()) == 2
    await app.stop()


async def test_a_directory_file_with_a_bad_row_stops_the_start(
    emulator: TelegramEmulator, db_url: str, files: dict[str, str]
) -> None:
    write(Path(files["directory_file"]), HEADER + CENTRE + "Плохая,,,,astrology,,,,,,\r\n")
    settings = Settings(
        bot_token=TOKEN,
        telegram_api_url=emulator.base_url,
        database_url=db_url,
        web_port=0,
        regions_file=files["regions_file"],
        directory_file=files["directory_file"],
    )
    app = Application(settings)
    with pytest.raises(ConfigError, match=r"^DIRECTORY_FILE: .*Line 3.*astrology"):
        await app.start()
    await app.stop()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not UTF-8 JSON"),
        ('{"regions": []}', 'has no list "regions"'),
        ('{"regions": [{"code": "Tula!", "ru": "Т", "en": "T", "tz": "Europe/Moscow"}]}', "code 'Tula!'"),
        ('{"regions": [{"code": "tula", "ru": "Т", "tz": "Europe/Moscow"}]}', "'en'"),
        ('{"regions": [{"code": "tula", "ru": "Т", "en": "T", "tz": "Mars/Base"}]}', "tz 'Mars/Base'"),
        (json.dumps({"regions": [REGIONS["regions"][0]] * 2}), "'tula' is given twice"),
    ],
)
def test_a_malformed_regions_file_is_one_line_naming_it(tmp_path: Path, content: str, says: str) -> None:
    path = write(tmp_path / "regions.json", content)
    with pytest.raises(ConfigError) as caught:
        load_settings(bot_token=TOKEN, regions_file=path)
    message = str(caught.value)
    assert message.startswith("REGIONS_FILE: ") and says in message and "\n" not in message


def test_other_malformed_setup_settings_name_their_variable(tmp_path: Path) -> None:
    for name, value in (
        ("regions_file", str(tmp_path / "missing.json")),
        ("directory_file", str(tmp_path / "missing.csv")),
        ("org_hotline", "позвоните нам"),
        ("privacy_policy_url", "example.org/privacy"),
    ):
        with pytest.raises(ConfigError, match=rf"^{name.upper()}: "):
            load_settings(bot_token=TOKEN, **{name: value})


async def test_python_m_bot_stops_with_one_line_for_a_bad_regions_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "regions.json", '{"regions": [{"code": "x"}]}')
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env |= {"PYTHONPATH": str(ROOT), "BOT_TOKEN": TOKEN, "REGIONS_FILE": bad, "WEB_PORT": "0"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=40)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert process.returncode == 2, lines
    assert lines == [
        "Configuration error: REGIONS_FILE: region 1 (x): 'ru', the name in that language, is missing"
    ]
