"""Helpers for the sandbox tests: a sandbox process of its own, and the page driven through Chromium."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# A .env as a real deployment has it: the sandbox must use none of it.
REAL_ENV = (
    "BOT_TOKEN=987654321:REAL-looking-token-never-to-be-used\n"
    "DATABASE_URL=sqlite+aiosqlite:///real/bot.sqlite3\n"
    "VK_TOKEN=real-vk-token\nVK_GROUP_ID=12345\nADMIN_IDS=tg:42\n"
)


PROXIES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SandboxProcess:
    """``python -m bot sandbox`` in ``workdir``, with a real-looking ``.env``.

    ``token_in_env``: the real token and database are in the environment too; ``dead_proxy``: any
    proxy-aware client is pointed at a proxy that is not there (the approximation of no network used
    where a network namespace cannot be made).
    """

    def __init__(self, workdir: Path, *, token_in_env: bool = True, dead_proxy: bool = True) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if not (workdir / ".env").exists():
            (workdir / ".env").write_text(REAL_ENV, encoding="utf-8")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BOT_", "VK_", "DATABASE_")) and k.lower() not in PROXIES
        }
        env["PYTHONPATH"] = str(ROOT)
        if token_in_env:
            env |= {
                "BOT_TOKEN": "987654321:REAL-looking-token-never-to-be-used",
                "DATABASE_URL": "sqlite+aiosqlite:///real/bot.sqlite3",
            }
        if dead_proxy:
            env |= {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
        self.log = (workdir / "sandbox.log").open("w+", encoding="utf-8")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "bot", "sandbox", "--port", str(self.port)],
            cwd=workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.workdir / "sandbox.log").read_text(encoding="utf-8")

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while "Sandbox: open" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the sandbox did not start:\n" + self.output())
            time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def browser_available() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return bool(shutil.which(CHROMIUM) or Path(CHROMIUM).exists()) and Path(CHROMEDRIVER).exists()


def chromium(width: int = 1600, height: int = 1000) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument("--lang=ru")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Page:
    """The sandbox page, one pane at a time, by what a person sees and clicks."""

    def __init__(self, driver: Any, url: str) -> None:
        self.driver = driver
        driver.get(url + "/")
        self.until(lambda: self.driver.execute_script("return !!document.querySelector('.pane .composer')"))

    def until(self, condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        deadline = time.monotonic() + timeout
        while True:
            try:
                result = condition()
                if result:
                    return result
            # The page re-renders a pane on every change: an element found a moment ago may be gone.
            except (StaleElementReferenceException, LookupError):
                pass
            except WebDriverException as exc:
                if "stale" not in str(exc).lower():
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"not seen within {timeout}s: {what}\n{self.texts_all()}")
            time.sleep(0.1)

    def pane(self, name: str) -> Any:
        return self.driver.find_element("css selector", f'section[data-pane="{name}"]')

    def texts(self, name: str) -> str:
        return str(
            self.driver.execute_script(
                "return [...document.querySelectorAll(arguments[0])].map(n => n.innerText).join('\\n')",
                f'section[data-pane="{name}"] .msg',
            )
        )

    def texts_all(self) -> str:
        return "\n".join(
            f"== {p}\n{self.texts(p)[-800:]}"
            for p in ("tg_family", "vk_family", "max_family", "group", "admin")
        )

    def say(self, name: str, text: str) -> None:
        field = self.pane(name).find_element("css selector", ".composer input")
        field.clear()
        field.send_keys(text)
        self.pane(name).find_element("css selector", ".composer button[type=submit]").click()

    def _current_button(self, name: str, value: str) -> Any:
        """The button carrying ``value`` on the newest message with buttons, or under the input."""
        pane = self.pane(name)
        with_buttons = [
            m
            for m in pane.find_elements("css selector", ".msg")
            if m.find_elements("css selector", ".inline button")
        ]
        places = [*with_buttons[-1:], *pane.find_elements("css selector", ".keyboard")]
        for place in places:
            for button in place.find_elements("css selector", "button[data-value]"):
                if button.get_attribute("data-value") == value:
                    return button
        raise LookupError(value)

    def tap(self, name: str, value: str) -> None:
        """Press the button, then wait for the bot's answer (so the next tap is not on this screen)."""
        before = self.texts(name)
        self.until(lambda: self._current_button(name, value).click() or True, what=f"{name}: button {value}")
        self.until(lambda: self.texts(name) != before, what=f"{name}: an answer to {value}")

    def walk(self, name: str, *values: str) -> None:
        for value in values:
            self.tap(name, value)

    def see(self, name: str, text: str) -> None:
        self.until(lambda: text in self.texts(name), what=f"{name}: {text!r}")

    def pick(self, name: str, kind: str, path: Path) -> None:
        """Choose ``path`` in the pane's photo or file picker, as the person would in the dialog."""
        self.pane(name).find_element("css selector", f"input.pick-{kind}").send_keys(str(path))

    def image_width(self, name: str) -> int:
        """The decoded width of the pane's newest photo (0 while it loads or if it is broken)."""
        return int(
            self.driver.execute_script(
                "const imgs = arguments[0].querySelectorAll('.msg a.photo img');"
                "const img = imgs[imgs.length - 1]; return img && img.complete ? img.naturalWidth : 0;",
                self.pane(name),
            )
        )

    def download(self, href: str) -> bytes:
        """The bytes behind a link's address, fetched by the page itself (same origin, same cookies)."""
        encoded = self.driver.execute_async_script(
            "const done = arguments[1];"
            "fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {"
            "  let s = ''; for (const c of new Uint8Array(b)) s += String.fromCharCode(c); done(btoa(s));"
            "}).catch(e => done('error: ' + e));",
            href,
        )
        assert not str(encoded).startswith("error"), encoded
        return base64.b64decode(str(encoded))

    def last_card(self) -> Any:
        cards = self.pane("group").find_elements(
            "css selector", '.msg:has(button[data-value^="claim."]), .msg:has(button[data-value^="close."])'
        )
        if not cards:
            raise LookupError("no card")
        return cards[-1]


def button_at(pane: dict[str, Any], value: str) -> dict[str, Any]:
    """Where the page would press ``value``: on the newest message with buttons, or under the input."""
    with_buttons = [m for m in pane["messages"] if m["buttons"]]
    places: list[tuple[int | None, list[list[dict[str, Any]]]]] = [
        (m["id"], m["buttons"]) for m in with_buttons[-1:]
    ]
    places.append((None, pane["keyboard"] or []))
    for message, rows in places:
        for r, row in enumerate(rows):
            for c, button in enumerate(row):
                if button.get("value") == value:
                    return {"message": message, "row": r, "col": c}
    raise LookupError(f"no button {value!r}")
