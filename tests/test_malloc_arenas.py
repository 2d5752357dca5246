"""``python -m bot`` tells glibc's malloc to keep two arenas (bot/run.py ``fewer_malloc_arenas``).

Checked by its effect, in a fresh interpreter: eight threads that each allocate get an arena of their
own without the setting, and share at most two with it (glibc's ``malloc_stats`` lists the arenas).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from bot.run import MALLOC_ARENAS, fewer_malloc_arenas
from tests.contract_support import ROOT

GLIBC = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"

SCRIPT = """
import ctypes, sys, threading
from bot.run import fewer_malloc_arenas
if sys.argv[1] == "fewer":
    assert fewer_malloc_arenas()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
kept = []
start = threading.Barrier(8)

def allocate():
    start.wait()
    kept.append(libc.malloc(64 * 1024))

threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc.malloc_stats()
"""


def _arenas(mode: str) -> int:
    mine = ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")
    env = {k: v for k, v in os.environ.items() if k not in mine} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603 - our own interpreter and our own code
        [sys.executable, "-c", SCRIPT, mode], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_threads_share_two_arenas() -> None:
    assert _arenas("default") > MALLOC_ARENAS  # the control: each thread took an arena of its own
    assert 1 <= _arenas("fewer") <= MALLOC_ARENAS


def test_a_sysadmins_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not fewer_malloc_arenas()
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=4")
    assert not fewer_malloc_arenas()
