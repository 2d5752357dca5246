"""The sandbox page in a real headless Chromium: a family's request, a coordinator's claim and reply.

The sandbox runs as ``python -m bot sandbox`` in a folder with a real-looking ``.env`` and a token in
the environment; neither may be used. ``UPDATE_SCREENSHOTS=1`` writes the panes' pictures for the
README into ``bot/sandbox/screenshots/``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.files import sample_photo
from tests.sandbox_browser import ROOT, Page, SandboxProcess, browser_available, chromium

pytestmark = pytest.mark.skipif(
    not browser_available(), reason="needs selenium and the system's chromium and chromium-driver"
)
PANES = ("tg_family", "vk_family", "max_family", "group", "admin")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    process = SandboxProcess(tmp_path)
    yield process
    assert process.stop() == 0, process.output()


@pytest.fixture
def driver() -> Iterator[Any]:
    browser = chromium()
    yield browser
    browser.quit()


def test_a_family_asks_a_coordinator_takes_it_and_answers(
    sandbox: SandboxProcess, driver: Any, tmp_path: Path
) -> None:
    page = Page(driver, sandbox.url)
    labels = [page.pane(p).get_attribute("aria-label") for p in PANES]
    assert labels == [
        "Семья в Telegram",
        "Семья во ВКонтакте",
        "Семья в MAX",
        "Чат координаторов",
        "Администратор",
    ]

    # A family on Telegram, from /start to a confirmed request, by typing and clicking.
    page.say("tg_family", "/start")
    page.walk("tg_family", "yes", "ann_no", "new", "no", "legal", "alimony", "1", "9", "r.spb")
    page.say("tg_family", "Бывший муж не платит алименты")
    page.walk("tg_family", "done", "chat", "send")
    page.see("tg_family", "принята")

    # The card appears in the coordinators' pane; a coordinator takes it; the family is told.
    page.until(page.last_card, what="a card in the coordinators' chat")
    page.until(
        lambda: page.last_card().find_element("css selector", 'button[data-value^="claim."]').click() or True
    )
    page.see("tg_family", "Координатор взял")
    page.see("group", "Взял(а) Ольга")

    # The coordinator answers in the card's thread; the family sees the answer.
    page.until(lambda: page.last_card().find_element("css selector", "button.reply").click() or True)
    page.say("group", "Здравствуйте! Позвоню сегодня в 15:00.")
    page.see("tg_family", "Позвоню сегодня в 15:00.")

    # The family's photo, picked in the pane: a thumbnail in both panes that the browser could decode.
    photo = tmp_path / "справка.png"
    photo.write_bytes(sample_photo(320, 240, seed=1))
    page.pick("tg_family", "photo", photo)
    page.until(lambda: page.image_width("tg_family") > 0, what="the family's own photo shown")
    page.until(lambda: page.image_width("group") == 320, what="the photo shown to the coordinators")
    # The coordinator's document in the card's thread: the family gets a link to the very same bytes.
    document = tmp_path / "договор.pdf"
    document.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    page.until(lambda: page.last_card().find_element("css selector", "button.reply").click() or True)
    page.pick("group", "document", document)
    # Read at once, in the retried look: the pane re-renders on every change, so an element kept from
    # a moment ago may be gone by the next call.
    [(name, label, href)] = page.until(
        lambda: [
            (a.get_attribute("download"), a.text, a.get_attribute("href"))
            for a in page.pane("tg_family").find_elements("css selector", ".msg a.file[download]")
        ],
        what="the link",
    )
    assert name == "договор.pdf" and "КБ" in label
    assert page.download(href) == document.read_bytes()

    # The same from VK, taken by another coordinator.
    page.until(
        lambda: page.pane("vk_family").find_element("css selector", ".keyboard button.start").click() or True
    )
    page.walk("vk_family", "yes", "ann_no", "new", "no", "legal", "benefits", "1", "9", "r.msk")
    page.say("vk_family", "Не дают пособие на ребёнка")
    page.walk("vk_family", "done", "chat", "send")
    page.see("vk_family", "принята")
    # VK's keyboard under the input: the main menu, pressed like any other button.
    page.until(
        lambda: page.pane("vk_family").find_elements(
            "css selector", '.keyboard button[data-value="requests"]'
        ),
        what="the menu keyboard under the input",
    )
    page.until(
        lambda: (
            len(page.pane("group").find_elements("css selector", '.msg:has(button[data-value^="claim."])'))
            == 1
        )
    )
    driver.find_element("css selector", 'select.coordinator option[value="2002"]').click()
    page.until(
        lambda: page.last_card().find_element("css selector", 'button[data-value^="claim."]').click() or True
    )
    page.see("vk_family", "Координатор взял")
    page.until(lambda: page.last_card().find_element("css selector", "button.reply").click() or True)
    page.say("group", "Добрый день! Помогу с пособием.")
    page.see("vk_family", "Помогу с пособием.")

    # The same from MAX (its own "Start" button, the contact button on a message), taken by a third.
    page.until(
        lambda: page.pane("max_family").find_element("css selector", ".keyboard button.start").click() or True
    )
    page.walk("max_family", "yes", "ann_no", "new", "no", "housing", "eviction", "yes", "1", "9", "r.msk")
    page.say("max_family", "Нам негде жить после пожара")
    page.walk("max_family", "done", "chat", "send")
    page.see("max_family", "принята")
    page.until(
        lambda: (
            len(page.pane("group").find_elements("css selector", '.msg:has(button[data-value^="claim."])'))
            == 1
        ),
        what="the MAX family's card, the only one not taken",
    )
    driver.find_element("css selector", 'select.coordinator option[value="2003"]').click()
    page.until(
        lambda: page.last_card().find_element("css selector", 'button[data-value^="claim."]').click() or True
    )
    page.see("max_family", "Координатор взял")
    page.see("group", "Взял(а) Ирина")
    page.until(lambda: page.last_card().find_element("css selector", "button.reply").click() or True)
    page.say("group", "Здравствуйте! Найдём жильё.")
    page.see("max_family", "Найдём жильё.")

    # Formatting as Telegram shows it: the card's bold text is markup, the family's words are text.
    assert page.pane("group").find_elements("css selector", ".msg .body b")
    assert not page.pane("group").find_elements("css selector", ".msg .body script")

    # The admin's private chat: the admin menu.
    page.say("admin", "/admin")
    page.until(
        lambda: page.pane("admin").find_elements("css selector", ".msg .inline button"), what="the admin menu"
    )

    shots = ROOT / "bot" / "sandbox" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    for name in PANES:
        driver.execute_script("arguments[0].querySelector('.messages').scrollTop = 1e9", page.pane(name))
        assert page.pane(name).screenshot(str(shots / f"{name}.png"))

    # The language switch changes the page and the simulated apps.
    driver.find_element("css selector", "#lang").click()
    page.until(lambda: page.pane("tg_family").get_attribute("aria-label") == "Family on Telegram")
    assert driver.find_element("css selector", "html").get_attribute("lang") == "en"
    before = page.texts("admin")
    page.say("admin", "/admin")
    page.until(lambda: page.texts("admin") != before, what="the admin menu again")
    assert page.pane("admin").find_element("css selector", ".composer button").text == "Send"

    # A phone-sized screen: the panes stack, nothing sticks out sideways.
    driver.set_window_size(390, 844)
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")

    # Never the real token or database: nothing reached the real Bot API, the real file is not there.
    assert not (tmp_path / "real").exists()
    database = tmp_path / "data" / "sandbox.sqlite3"
    with sqlite3.connect(database) as db:
        assert db.execute("select count(*) from tickets").fetchone() == (3,)
    assert "987654321" not in sandbox.output() and "REAL" not in sandbox.output()


def test_in_english_on_a_phone_the_scenario_plays_and_the_platforms_own_actions_work(
    sandbox: SandboxProcess, driver: Any
) -> None:
    driver.set_window_size(390, 844)
    page = Page(driver, sandbox.url)
    driver.find_element("css selector", "#lang").click()
    page.until(lambda: page.pane("vk_family").get_attribute("aria-label") == "Family on VK")

    # The simulated apps speak English too: a new VK dialog is answered in English.
    page.until(
        lambda: page.pane("vk_family").find_element("css selector", ".keyboard button.start").click() or True
    )
    page.until(lambda: "consent" in page.texts("vk_family").lower(), what="the VK consent in English")

    # A phone-sized screen: the panes stack one under another and nothing sticks out sideways.
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    lefts = {page.pane(p).rect["x"] for p in PANES}
    assert len(lefts) == 1, "one pane per row"

    # The scenario button plays a request from the family's question to its closing.
    button = driver.find_element("css selector", "#scenario")
    button.click()
    page.until(lambda: not button.is_enabled() and button.text == "Scenario running…")
    page.until(
        lambda: "is closed" in page.texts("tg_family"), timeout=90, what="the scenario's request closed"
    )
    page.until(lambda: button.is_enabled() and button.text == "▶ Scenario")
    assert "3 pm" in page.texts("tg_family") and "When can you call me?" in page.texts("group")
    # The card was edited in place, not sent again: one card, marked as edited.
    page.until(
        lambda: driver.execute_script(
            "const cards = [...arguments[0].querySelectorAll('.msg')]"
            "  .filter(m => (m.querySelector(':scope > .body')?.textContent || '').startsWith('📝'));"
            "return cards.length === 1 && cards[0].querySelector('.meta').textContent.includes('edited');",
            page.pane("group"),
        ),
        what="one card, edited in place",
    )

    # Block the bot, and unblock it: the platform's own update, shown in the pane.
    banner = page.pane("tg_family").find_element("css selector", ".blocked")
    page.pane("tg_family").find_element("css selector", "button.block").click()
    page.until(
        lambda: (
            banner.is_displayed()
            and "Unblock" in page.pane("tg_family").find_element("css selector", "button.block").text
        )
    )
    page.pane("tg_family").find_element("css selector", "button.block").click()
    page.until(lambda: not banner.is_displayed())

    # A quick exit deletes the bot's messages: they are gone from the pane.
    page.say("tg_family", "/erase")
    page.until(lambda: "is closed" not in page.texts("tg_family"), what="the messages deleted")
