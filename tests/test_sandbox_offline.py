"""``python -m bot sandbox`` with no network, no token in the environment and a real ``.env`` present.

The sandbox runs in a network namespace with only loopback (``unshare``): the page loads, ``/start``
gets the first screen, and neither the ``.env``'s database nor its token is ever used. Where no
namespace can be made, the test says why on its output and falls back to pointing every proxy-aware
client at a dead proxy, which proves less: it never skips silently.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.sandbox_browser import REAL_ENV, ROOT, browser_available
from tests.sandbox_offline import offline_command


def test_the_sandbox_starts_with_no_network_no_token_and_a_real_env_present(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(REAL_ENV, encoding="utf-8")
    written = env_file.stat().st_mtime_ns
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "VK_", "DATABASE_"))}
    environment["PYTHONPATH"] = str(ROOT)
    helper = [sys.executable, "-m", "tests.sandbox_offline", str(tmp_path)]
    prefix, reason = offline_command()
    if prefix is None:
        message = f"no network namespace here ({reason}): no network is approximated by a dead proxy"
        print(message, file=sys.stderr)
        warnings.warn(message, stacklevel=1)
        command = helper
    else:
        command = [*prefix, *helper, "--namespace"]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["outside"] == [], "the namespace must have no way out"
    assert seen["page"] and seen["script"]
    if browser_available():
        assert seen["browser_panes"] == ["Семья в Telegram", "Администратор"]
    assert "yes" in seen["first_screen"], seen["first_screen"]  # the consent question's buttons
    assert seen["exit"] == 0, seen["log"]

    # Nothing of the .env was used: its database never created, its token never sent or logged.
    log = seen["log"]
    assert "Traceback" not in log and "api.telegram.org" not in log, log
    assert "987654321" not in log and "REAL" not in log and "real-vk-token" not in log
    assert not (tmp_path / "real").exists()
    assert env_file.read_text(encoding="utf-8") == REAL_ENV and env_file.stat().st_mtime_ns == written
    with sqlite3.connect(tmp_path / "data" / "sandbox.sqlite3") as db:
        assert db.execute("select count(*) from people").fetchone()[0] >= 1


def test_where_no_namespace_can_be_made_the_reason_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.sandbox_offline.shutil.which", lambda _name: None)
    assert offline_command() == (None, "unshare (util-linux) is not installed")
