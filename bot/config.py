"""Settings from the environment and `.env`, exactly as DESIGN.md's configuration contract names them.

A missing or malformed setting raises ConfigError with one line naming the variable.
"""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dialogs.directory import read_regions
from dialogs.i18n import SUPPORTED_LOCALES
from storage.vocabulary import VK_CHAT_PEER_START, Platform, parse_person_key

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line that names the variable."""


def parse_duration(value: str) -> timedelta:
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration like 15m, 2h or 3d")
    amount, unit = match.groups()
    return timedelta(**{_UNITS[unit]: int(amount)})


def parse_ids(value: str) -> tuple[str, ...]:
    """`tg:123,vk:456` (a bare number means Telegram) -> neutral keys."""
    keys = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            platform, ident = parse_person_key(part)
        except ValueError:
            raise ValueError(f"{part!r} is not an id like tg:123, vk:456, max:789 or 123") from None
        keys.append(f"{platform.value}:{ident}")
    return tuple(keys)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_WEBHOOK_PATH = "/max"  # MAX's webhook on the bot's own web server, next to VK's /vk


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = SecretStr("")
    telegram_api_url: str = "https://api.telegram.org"
    vk_token: SecretStr = SecretStr("")
    vk_group_id: int | None = None
    vk_api_url: str = "https://api.vk.ru"
    max_token: SecretStr = SecretStr("")
    max_api_url: str = "https://platform-api.max.ru"
    database_url: str = "sqlite+aiosqlite:///data/bot.sqlite3"
    redis_url: str | None = None
    admin_ids: str = ""
    coordinator_chat: str = ""
    followup_schedule: str = "3d,14d"
    followup_expire: str = "3d"
    claim_sla: str = "2h"
    claim_sla_urgent: str = "15m"
    quiet_hours: str = "21-09"
    default_locale: str = "ru"
    default_timezone: str = "Europe/Moscow"
    broadcast_rate: float = Field(default=25, gt=0, le=1000)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    vk_callback_secret: SecretStr | None = None
    vk_confirmation_code: str | None = None
    web_host: str = "0.0.0.0"  # noqa: S104 - webhook mode listens behind a proxy; loopback by choice
    web_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (tests, a second copy)
    # Our additions, named in the same style (see README):
    privacy_policy_url: str | None = None
    consent_version: str = "2026-11"
    log_level: str = "INFO"
    working_hours: str = "09-21"
    appointment_reminders: str = "1d,2h"
    # How long after closing a ticket its personal texts, files and phone are kept (152-FZ).
    retention: str = "180d"
    # A region's own setup (README, "Going live"): shown to families, read from files at start.
    org_name: str | None = Field(default=None, max_length=120)
    org_hotline: str | None = Field(default=None, max_length=64)
    regions_file: str | None = None
    directory_file: str | None = None
    log_format: str = "text"
    # Names this process among replicas (its outbox leases); the host name unless set.
    instance_id: str = Field(default_factory=socket.gethostname, max_length=64)

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        if v.strip().lower() not in {"text", "json"}:
            raise ValueError(f"{v!r} is neither text nor json")
        return v.strip().lower()

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, v: str) -> str:
        level = v.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{v!r} is not one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("bot_token")
    @classmethod
    def _token(cls, v: SecretStr) -> SecretStr:
        token = v.get_secret_value().strip()
        if token and not re.fullmatch(r"\d+:[\w-]+", token):
            raise ValueError("does not look like a token from @BotFather (digits, a colon, then letters)")
        return SecretStr(token)

    @field_validator("max_token")
    @classmethod
    def _max_token(cls, v: SecretStr) -> SecretStr:
        return SecretStr(v.get_secret_value().strip())

    @field_validator("telegram_api_url", "vk_api_url", "max_api_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", v.strip()):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str) -> str:
        try:
            url = make_url(v.strip())
        except ArgumentError:
            raise ValueError(f"{v!r} is not a database URL") from None
        expected = _ASYNC_DRIVERS.get(url.get_backend_name())
        if expected is None or url.get_driver_name() != expected:
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/file.sqlite3 or postgresql+asyncpg://user:pass@host/db"
            )
        return v.strip()

    @field_validator("admin_ids")
    @classmethod
    def _admins(cls, v: str) -> str:
        parse_ids(v)
        return v

    @field_validator("coordinator_chat")
    @classmethod
    def _chat(cls, v: str) -> str:
        if not v.strip():
            return ""
        chats = parse_ids(v)
        if len(chats) != 1:
            raise ValueError("must be one chat id like tg:-100123")
        platform, ident = parse_person_key(chats[0])
        if platform is Platform.VK and ident <= VK_CHAT_PEER_START:
            raise ValueError(
                f"{chats[0]!r} is not a VK conversation: their peer ids start at {VK_CHAT_PEER_START}, "
                f"like vk:{VK_CHAT_PEER_START + 1}"
            )
        if platform is Platform.MAX and ident >= 0:
            raise ValueError(
                f"{chats[0]!r} is not a MAX group chat: their ids are negative, like max:-7012345"
            )
        return v.strip()

    @field_validator("followup_schedule", "appointment_reminders")
    @classmethod
    def _schedule(cls, v: str) -> str:
        parts = [p for p in v.split(",") if p.strip()]
        for part in parts:
            parse_duration(part)
        return v

    @field_validator("claim_sla", "claim_sla_urgent", "followup_expire", "retention")
    @classmethod
    def _sla(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("quiet_hours", "working_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        if v.strip().lower() == "off":
            return "off"
        match = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", v)
        if not match or not all(0 <= int(h) <= 23 for h in match.groups()):
            raise ValueError(f"{v!r} is not an hour range like 21-09, or off")
        return v.strip()

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if v not in SUPPORTED_LOCALES:
            raise ValueError(f"{v!r} is not one of {', '.join(SUPPORTED_LOCALES)}")
        return v

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a time zone like Europe/Moscow") from None
        return v

    @field_validator("org_name", "org_hotline", "regions_file", "directory_file")
    @classmethod
    def _optional_text(cls, v: str | None) -> str | None:
        return v.strip() if v and v.strip() else None

    @field_validator("org_hotline")
    @classmethod
    def _hotline(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[0-9+()\- ,]{3,64}", v):
            raise ValueError(f"{v!r} is not a phone number like 8-800-000-00-00 or +7 4872 00-00-00")
        return v

    @field_validator("privacy_policy_url")
    @classmethod
    def _policy_url(cls, v: str | None) -> str | None:
        if v is not None and v.strip() and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", v.strip()):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.strip() if v and v.strip() else None

    @field_validator("regions_file")
    @classmethod
    def _regions_file(cls, v: str | None) -> str | None:
        if v is not None:
            read_regions(Path(v))  # a malformed file stops the start here, naming the variable
        return v

    @field_validator("directory_file")
    @classmethod
    def _directory_file(cls, v: str | None) -> str | None:
        if v is not None and not Path(v).is_file():
            raise ValueError(f"{v!r} is not a file (a CSV like the one /directory exports)")
        return v

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, v: str | None) -> str | None:
        if v is not None and v.strip() and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", v.strip()):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.strip() if v and v.strip() else None

    @model_validator(mode="after")
    def _transports(self) -> Settings:
        if self.vk_token.get_secret_value() and self.vk_group_id is None:
            raise ValueError("VK_GROUP_ID: must be set together with VK_TOKEN")
        if self.webhook_url:
            secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
            if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
                raise ValueError(
                    "WEBHOOK_SECRET: webhook mode needs a secret of 16 to 256 letters, digits, _ or -"
                )
            parts = urlsplit(self.webhook_url)
            if self.max_enabled and (parts.scheme != "https" or parts.port not in (None, 443)):
                raise ValueError("WEBHOOK_URL: MAX posts updates only to an https:// address on port 443")
            if self.vk_enabled and not (self.vk_callback_secret and self.vk_confirmation_code):
                raise ValueError(
                    "VK_CALLBACK_SECRET: VK's Callback API needs it and VK_CONFIRMATION_CODE in webhook mode"
                )
        return self

    @property
    def webhook_path(self) -> str:
        """Where Telegram posts updates on our server: the path of WEBHOOK_URL."""
        return urlsplit(self.webhook_url or "").path or "/telegram"

    @property
    def max_webhook_url(self) -> str:
        """Where MAX posts updates: ``/max`` on the host of WEBHOOK_URL (next to VK's ``/vk``)."""
        parts = urlsplit(self.webhook_url or "")
        return f"{parts.scheme}://{parts.netloc}{MAX_WEBHOOK_PATH}"

    # ---- parsed views ----
    @property
    def followup_offsets(self) -> tuple[timedelta, ...]:
        return tuple(parse_duration(p) for p in self.followup_schedule.split(",") if p.strip())

    @property
    def appointment_offsets(self) -> tuple[timedelta, ...]:
        return tuple(parse_duration(p) for p in self.appointment_reminders.split(",") if p.strip())

    @property
    def admins(self) -> tuple[str, ...]:
        return parse_ids(self.admin_ids)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.bot_token.get_secret_value())

    @property
    def vk_enabled(self) -> bool:
        return bool(self.vk_token.get_secret_value())

    @property
    def max_enabled(self) -> bool:
        return bool(self.max_token.get_secret_value())

    @property
    def platforms(self) -> tuple[Platform, ...]:
        switches = (
            (Platform.TELEGRAM, self.telegram_enabled),
            (Platform.VK, self.vk_enabled),
            (Platform.MAX, self.max_enabled),
        )
        return tuple(p for p, on in switches if on)

    def secrets(self) -> list[str]:
        values = [s.get_secret_value() for s in (self.bot_token, self.vk_token, self.max_token)]
        for secret in (self.webhook_secret, self.vk_callback_secret):
            if secret is not None:
                values.append(secret.get_secret_value())
        return [v for v in values if v]


def load_settings(**overrides: Any) -> Settings:
    """Read and check the settings; raise ConfigError with one line naming the variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error.get("loc") else ""
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if not name and ":" in message:
            name, _, message = message.partition(":")
        raise ConfigError(f"{name}: {message.strip()}") from None
    if not settings.platforms:
        raise ConfigError(
            "BOT_TOKEN: not set. Get a token from @BotFather in Telegram (see README) and put it in .env "
            "or the environment (or set VK_TOKEN and VK_GROUP_ID for VK, or MAX_TOKEN for MAX)."
        )
    return settings
