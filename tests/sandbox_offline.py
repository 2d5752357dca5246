"""The sandbox with no network at all: a network namespace that has only loopback.

``offline_command()`` says how to run a command in such a namespace here (``unshare``: as root a bare
``--net``; otherwise a user namespace too, ``-rn``), or why it cannot. Inside it, ``python -m
tests.sandbox_offline WORKDIR`` brings loopback up, proves the outside is unreachable, starts ``python
-m bot sandbox`` with no token in the environment and a real-looking ``.env`` in WORKDIR, loads the
page (in Chromium too when it is installed), sends ``/start`` and waits for the first screen. It prints
one JSON line of what it saw; the test outside checks it and the files.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.sandbox_browser import Page, SandboxProcess, browser_available, chromium

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
# Where a real bot would go; in the namespace neither the name nor the address may be reachable.
OUTSIDE = ("api.telegram.org", "149.154.167.220")


def offline_command() -> tuple[list[str] | None, str]:
    """The prefix that runs a command with no network, or None and the reason it cannot be made here."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None, "unshare (util-linux) is not installed"
    tried = []
    # As root a network namespace alone is enough; elsewhere a user namespace maps us to root in it.
    for prefix in ([unshare, "--net"], [unshare, "--map-root-user", "--net"]):
        probe = subprocess.run(  # noqa: S603 - fixed arguments
            [*prefix, "true"], capture_output=True, text=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return prefix, ""
        tried.append(f"{' '.join(prefix[1:])}: {probe.stderr.strip() or probe.returncode}")
    return None, "; ".join(tried)


def loopback_up() -> None:
    """``ip link set lo up`` without needing iproute2: the interface flags through ioctl."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def outside_reachable() -> list[str]:
    """What of the outside answers from here (nothing, in the namespace)."""
    reached = []
    try:
        socket.getaddrinfo(OUTSIDE[0], 443)
        reached.append(f"DNS for {OUTSIDE[0]}")
    except OSError:
        pass
    try:
        socket.create_connection((OUTSIDE[1], 443), timeout=3).close()
        reached.append(f"{OUTSIDE[1]}:443")
    except OSError:
        pass
    return reached


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own loopback page
        return response.status, response.read().decode()


def _post(url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(  # noqa: S310 - our own loopback page
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def first_screen(url: str, timeout: float = 30.0) -> list[str]:
    """Send /start from the Telegram family's pane; the buttons of the bot's first answer."""
    assert _post(f"{url}/api/act", {"pane": "tg_family", "kind": "text", "text": "/start"}) == 200
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(_get(f"{url}/api/state")[1])
        bot = [m for m in state["panes"]["tg_family"]["messages"] if not m["mine"]]
        values = [b["value"] for m in bot for row in m["buttons"] for b in row]
        if values:
            return [str(v) for v in values]
        time.sleep(0.2)
    raise AssertionError("no first screen within the timeout")


def check(workdir: Path, *, in_namespace: bool) -> dict[str, Any]:
    seen: dict[str, Any] = {"outside": outside_reachable() if in_namespace else []}
    sandbox = SandboxProcess(workdir, token_in_env=False, dead_proxy=not in_namespace)
    try:
        status, html = _get(f"{sandbox.url}/")
        seen["page"] = status == 200 and html.count('<section class="pane"') == 5
        seen["script"] = _get(f"{sandbox.url}/static/app.js")[0] == 200
        if browser_available():
            driver = chromium()
            try:
                page = Page(driver, sandbox.url)
                seen["browser_panes"] = [
                    page.pane(p).get_attribute("aria-label") for p in ("tg_family", "admin")
                ]
            finally:
                driver.quit()
        seen["first_screen"] = first_screen(sandbox.url)
    finally:
        seen["exit"] = sandbox.stop()
    seen["log"] = sandbox.output()
    return seen


def main(argv: list[str]) -> int:
    workdir = Path(argv[0])
    in_namespace = "--namespace" in argv
    if in_namespace:
        loopback_up()
    print(json.dumps(check(workdir, in_namespace=in_namespace), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
