"""Settings: the configuration contract, and `python -m bot` failing with one clear line."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, parse_duration, parse_ids
from bot.logs import RedactSecrets
from tests.contract_support import CONTRACT, ROOT

TOKEN = "123456:ABC-def_ghi"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [*CONTRACT, "PRIVACY_POLICY_URL", "CONSENT_VERSION", "LOG_LEVEL", "LOG_FORMAT"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    settings = load_settings()
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.vk_api_url == "https://api.vk.ru"
    assert settings.database_url == "sqlite+aiosqlite:///data/bot.sqlite3"
    assert (settings.followup_schedule, settings.claim_sla, settings.claim_sla_urgent) == (
        "3d,14d",
        "2h",
        "15m",
    )
    assert (settings.quiet_hours, settings.default_locale, settings.default_timezone) == (
        "21-09",
        "ru",
        "Europe/Moscow",
    )
    assert settings.broadcast_rate == 25
    assert (
        settings.platforms == (settings.platforms[0],)
        and settings.telegram_enabled
        and not settings.vk_enabled
    )


def test_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\nADMIN_IDS=tg:1, 2 ,vk:3\n", encoding="utf-8")
    settings = load_settings()
    assert settings.admins == ("tg:1", "tg:2", "vk:3")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN"),
        ({"BOT_TOKEN": TOKEN, "ADMIN_IDS": "tg:1,abc"}, "ADMIN_IDS"),
        ({"BOT_TOKEN": TOKEN, "DATABASE_URL": "sqlite:///sync.db"}, "DATABASE_URL"),
        ({"BOT_TOKEN": TOKEN, "DATABASE_URL": "::nonsense::"}, "DATABASE_URL"),
        ({"BOT_TOKEN": TOKEN, "COORDINATOR_CHAT": "tg:1,tg:2"}, "COORDINATOR_CHAT"),
        ({"BOT_TOKEN": TOKEN, "FOLLOWUP_SCHEDULE": "3 days"}, "FOLLOWUP_SCHEDULE"),
        ({"BOT_TOKEN": TOKEN, "CLAIM_SLA": "soon"}, "CLAIM_SLA"),
        ({"BOT_TOKEN": TOKEN, "QUIET_HOURS": "25-09"}, "QUIET_HOURS"),
        ({"BOT_TOKEN": TOKEN, "DEFAULT_LOCALE": "de"}, "DEFAULT_LOCALE"),
        ({"BOT_TOKEN": TOKEN, "DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE"),
        ({"BOT_TOKEN": TOKEN, "BROADCAST_RATE": "-1"}, "BROADCAST_RATE"),
        ({"BOT_TOKEN": TOKEN, "WEB_PORT": "99999"}, "WEB_PORT"),
        ({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "localhost:8081"}, "TELEGRAM_API_URL"),
        ({"VK_TOKEN": "vk1.a.token"}, "VK_GROUP_ID"),
        # Regression: "verbose" used to be taken silently as INFO.
        ({"BOT_TOKEN": TOKEN, "LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        ({"BOT_TOKEN": TOKEN, "LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.org/tg"}, "WEBHOOK_SECRET"),
        (
            {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://x.org/tg", "WEBHOOK_SECRET": "short"},
            "WEBHOOK_SECRET",
        ),
        (
            {
                "VK_TOKEN": "vk1.a.token",
                "VK_GROUP_ID": "77",
                "WEBHOOK_URL": "https://x.org/tg",
                "WEBHOOK_SECRET": "0123456789abcdef",
            },
            "VK_CALLBACK_SECRET",
        ),
    ],
)
def test_a_bad_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}:"), message
    assert "\n" not in message


def test_parsers() -> None:
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration(" 15m ") == timedelta(minutes=15)
    assert parse_ids("") == ()
    assert parse_ids("-100123, vk:2000000001") == ("tg:-100123", "vk:2000000001")


def run_bot(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env=clean | env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "BOT_TOKEN"),
        ({"BOT_TOKEN": TOKEN, "ADMIN_IDS": "x"}, "ADMIN_IDS"),
        ({"BOT_TOKEN": TOKEN, "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ],
)
def test_python_m_bot_stops_with_one_clear_line(tmp_path: Path, env: dict[str, str], variable: str) -> None:
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr


def test_tokens_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactSecrets([TOKEN]))
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
        logger.info("other token bot987:xyz-abc in a URL")
        try:
            raise RuntimeError(f"failed: {TOKEN}")
        except RuntimeError:
            logger.exception("boom")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert TOKEN not in text
    assert "987:xyz-abc" not in text
    assert "<redacted>" in text
