"""The sandbox's own settings and its cast: built in code, never from ``.env`` or the environment.

A newcomer may run the sandbox in a folder whose ``.env`` holds the real bot's token and database:
the sandbox must not touch either, so every value here is made up or local.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.config import Settings

# Made up, but shaped like real ones: the transports check the shape, the local servers accept them.
TELEGRAM_TOKEN = "1234567890:SANDBOX-made-up-token"  # noqa: S105 - a placeholder for the local server
VK_TOKEN = "sandbox-made-up-vk-token"  # noqa: S105 - same
VK_GROUP_ID = 77
MAX_TOKEN = "sandbox-made-up-max-token"  # noqa: S105 - same
DATABASE_FILE = Path("data") / "sandbox.sqlite3"


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str


# The cast: one of each role, and three coordinators so that a claim race can be tried.
TG_FAMILY = Person(3001, "Мария")
VK_FAMILY = Person(4001, "Анна")
MAX_FAMILY = Person(5001, "Елена")
ADMIN = Person(1001, "Админ")
COORDINATORS = (Person(2001, "Ольга"), Person(2002, "Пётр"), Person(2003, "Ирина"))
GROUP_ID = -1001000000777
GROUP_TITLE = "Координаторы"


class SandboxSettings(Settings):
    """Settings whose only source is the values given in code."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def sandbox_settings(base_url: str, workdir: Path, **overrides: Any) -> Settings:
    """Everything the real bot needs, pointed at the local servers under ``base_url``."""
    database = (workdir / DATABASE_FILE).resolve()
    values: dict[str, Any] = {
        "bot_token": TELEGRAM_TOKEN,
        "telegram_api_url": f"{base_url}/tg",
        "vk_token": VK_TOKEN,
        "vk_group_id": VK_GROUP_ID,
        "vk_api_url": f"{base_url}/vk",
        "max_token": MAX_TOKEN,
        "max_api_url": f"{base_url}/max",
        "database_url": f"sqlite+aiosqlite:///{database}",
        "admin_ids": f"tg:{ADMIN.user_id}",
        "coordinator_chat": f"tg:{GROUP_ID}",
        # Practice at any hour: no quiet hours, a short claim SLA so the reminder can be seen.
        "quiet_hours": "off",
        "claim_sla": "10m",
        "claim_sla_urgent": "5m",
        "log_level": "INFO",
        **overrides,
    }
    return SandboxSettings(**values)
