"""The configuration contract's variable names (cleared from a child process's environment) and the
project's root, for the tests that run `python -m bot` as a process."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


CONTRACT = [
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "VK_TOKEN",
    "VK_GROUP_ID",
    "VK_API_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "ADMIN_IDS",
    "COORDINATOR_CHAT",
    "FOLLOWUP_SCHEDULE",
    "CLAIM_SLA",
    "CLAIM_SLA_URGENT",
    "QUIET_HOURS",
    "DEFAULT_LOCALE",
    "DEFAULT_TIMEZONE",
    "BROADCAST_RATE",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEB_HOST",
    "WEB_PORT",
    "VK_CALLBACK_SECRET",
    "VK_CONFIRMATION_CODE",
    "LOG_FORMAT",
]
