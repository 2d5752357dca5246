from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.i18n import load_translators
from dialogs.directory import Directory, load_directory
from dialogs.i18n import Translators
from storage.db import create_engine, migrate
from storage.uow import Database
from tests.dialog_driver import DialogDriver


@pytest.fixture(scope="session")
def translators() -> Translators:
    return load_translators("ru")


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory()


@pytest.fixture
def driver(translators: Translators, directory: Directory) -> DialogDriver:
    return DialogDriver(translators=translators, directory=directory)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.sqlite3'}"


POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


async def _wipe_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[Database]:
    """A migrated database: a SQLite file, and PostgreSQL too when TEST_POSTGRES_URL is set."""
    url = db_url
    if request.param == "postgresql":
        url = POSTGRES_URL
        await _wipe_postgres(url)
    database = Database(create_engine(url))
    await migrate(database.engine)
    yield database
    await database.dispose()


# ---- end to end: the emulator and the running application ----

from bot.app import Application  # noqa: E402
from bot.sandbox.max import spec as spec_max  # noqa: E402
from bot.sandbox.max.emulator import MaxEmulator  # noqa: E402
from bot.sandbox.telegram import spec as spec_telegram  # noqa: E402
from bot.sandbox.telegram.emulator import TelegramEmulator  # noqa: E402
from bot.sandbox.vk import spec as spec_vk  # noqa: E402
from bot.sandbox.vk.emulator import VkChat, VkEmulator  # noqa: E402
from tests.e2e import GROUP, HandledUpdates, Parent, start_app  # noqa: E402
from tests.max_e2e import MaxParent, start_max_app  # noqa: E402
from tests.vk_e2e import VK_GROUP, VK_TOKEN, VkParent, start_vk_app  # noqa: E402

SPEC_REPORT: dict[str, bool] = {}


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    emu = TelegramEmulator()
    await emu.start()
    SPEC_REPORT["telegram"] = emu.spec_checked
    yield emu
    await emu.stop()
    emu.assert_no_spec_errors()
    assert not emu.emulator_errors, emu.emulator_errors


@pytest.fixture
async def app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Any]:
    application = await start_app(emulator, db_url)
    yield application
    await application.stop()


@pytest.fixture
def handled(app: Any) -> HandledUpdates:
    return HandledUpdates(app)


@pytest.fixture
def parent(emulator: TelegramEmulator, handled: HandledUpdates) -> Parent:
    return Parent(emulator=emulator, handled=handled, user_id=5001)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    backends = " and ".join(BACKENDS)
    terminalreporter.write_line(f"storage and use-case tests ran on: {backends}")
    if spec_vk.spec_available():
        terminalreporter.write_line("VK requests validated against the VK API schema (API 5.199)")
    else:
        terminalreporter.write_line(
            "VK spec check NOT DONE: ../shared/specs/vk/ is absent (set VK_SPEC)", yellow=True
        )
    if spec_max.spec_available():
        terminalreporter.write_line("MAX requests validated against the MAX Bot API schema (openapi.json)")
    else:
        terminalreporter.write_line(
            "MAX spec check NOT DONE: ../shared/specs/max/openapi.json is absent", yellow=True
        )
    if spec_telegram.spec_available():
        terminalreporter.write_line(
            f"Telegram requests validated against Bot API spec {spec_telegram.spec_version()}"
        )
    else:
        terminalreporter.write_line(
            "Telegram spec check NOT DONE: ../shared/specs/telegram/api.json is absent (set TELEGRAM_SPEC)",
            yellow=True,
        )


@pytest.fixture
async def desk_app(emulator: TelegramEmulator, db_url: str) -> AsyncIterator[Application]:
    app = await start_app(emulator, db_url, coordinator_chat=f"tg:{GROUP}")
    yield app
    await app.stop()


@pytest.fixture
def family(emulator: TelegramEmulator, desk_app: Application) -> Parent:
    return Parent(emulator=emulator, handled=HandledUpdates(desk_app), user_id=6001)


# ---- VK ----


@pytest.fixture
async def vk() -> AsyncIterator[VkEmulator]:
    emu = VkEmulator(token=VK_TOKEN, group_id=VK_GROUP)
    await emu.start()
    yield emu
    await emu.stop()
    emu.assert_no_spec_errors()


@pytest.fixture
async def vk_app(vk: VkEmulator, db_url: str) -> AsyncIterator[Application]:
    application = await start_vk_app(vk, db_url)
    yield application
    await application.stop()


@pytest.fixture
def vk_parent(vk: VkEmulator, vk_app: Application) -> VkParent:
    return VkParent(vk=vk, handled=HandledUpdates(vk_app), user=vk.user(7001))


@pytest.fixture
def vk_chat(vk: VkEmulator) -> VkChat:
    """A VK conversation of coordinators (the bot is an admin there)."""
    return vk.add_chat("Координаторы")


@pytest.fixture
async def vk_desk(
    vk: VkEmulator, emulator: TelegramEmulator, vk_chat: VkChat, db_url: str
) -> AsyncIterator[Application]:
    """VK and Telegram on, the requests' cards going to ``vk_chat``."""
    application = await start_vk_app(vk, db_url, telegram=emulator, coordinator_chat=f"vk:{vk_chat.peer_id}")
    yield application
    await application.stop()


# ---- MAX ----


@pytest.fixture
async def max_emu() -> AsyncIterator[MaxEmulator]:
    emu = MaxEmulator()
    await emu.start()
    SPEC_REPORT["max"] = emu.spec_checked
    yield emu
    await emu.stop()
    emu.assert_no_spec_errors()


@pytest.fixture
async def max_app(max_emu: MaxEmulator, db_url: str) -> AsyncIterator[Application]:
    application = await start_max_app(max_emu, db_url)
    yield application
    await application.stop()


@pytest.fixture
def max_parent(max_emu: MaxEmulator, max_app: Application) -> MaxParent:
    return MaxParent(emu=max_emu, handled=HandledUpdates(max_app), user=max_emu.user(8001))
