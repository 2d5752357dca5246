"""`python -m bot`: start every configured transport, the scheduler, and stop on SIGINT/SIGTERM.

`python -m bot sandbox [--port N] [--reset]`: the whole bot against built-in local Telegram and VK
servers, with a page in the browser where every role can be played (no token, no network).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import ConfigError, load_settings
from bot.logs import setup_logging


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["sandbox"]:
        return sandbox(args[1:])
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.secrets(), settings.log_format)
    from bot.run import run, run_loop  # noqa: PLC0415 - import the heavy stack only once settings are valid

    try:
        run_loop(run(settings))
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def sandbox(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot sandbox",
        description="Try the bot with no token and no network: every role in one page in the browser.",
    )
    parser.add_argument("--port", type=int, default=8080, help="the page's port (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    parser.add_argument("--reset", action="store_true", help="start over with an empty data/sandbox.sqlite3")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    # Never the real bot's token or database: the sandbox builds its own settings (bot/sandbox/settings.py).
    setup_logging("INFO", [])
    from bot.sandbox.server import SandboxError, serve  # noqa: PLC0415 - the heavy stack only when asked for

    try:
        asyncio.run(serve(host=args.host, port=args.port, workdir=Path.cwd(), reset=args.reset))
    except SandboxError as exc:
        print(f"Sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
