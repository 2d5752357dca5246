"""`python -m bot`: start every configured transport, the scheduler, and stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from bot.config import ConfigError, load_settings
from bot.logs import setup_logging


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.secrets(), settings.log_format)
    from bot.app import run  # noqa: PLC0415 - import the heavy stack only once settings are valid

    try:
        asyncio.run(run(settings))
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
