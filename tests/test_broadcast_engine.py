"""The broadcast wizard and the opt-in in the pure engine: no database, no transport."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dialogs.announcements import admin_html
from dialogs.broadcast import BroadcastData
from dialogs.effects import CancelBroadcasts, CountAudience, SendBroadcast, SetAnnouncements
from dialogs.primitives import Event, EventKind, Outcome, Payload, Role
from handlers.pacer import Limit, PacerSettings, Priority, PriorityPacer
from storage.vocabulary import ChatRef
from tests.dialog_driver import DIALOGS, DialogDriver
from tests.fakes import FakeTime


def admin_step(
    driver: DialogDriver, state: str | None, data: dict[str, Any], event: Event, role: Role = Role.ADMIN
) -> Outcome:
    ctx = replace(driver.context(), role=role)
    return DIALOGS.step(state, data, event, ctx)


def command(name: str) -> Event:
    return Event(kind=EventKind.COMMAND, command=name, text=f"/{name}")


def press(step: str, value: str) -> Event:
    return Event(kind=EventKind.BUTTON, payload=Payload(step=step, value=value))


def test_consent_is_followed_by_its_own_opt_in_question(driver: DialogDriver) -> None:
    driver.command("start")
    screens = driver.press("yes")
    assert (driver.consent, driver.announcements) == ("test-1", False)
    question = next(
        s for s in screens if any(b.payload and b.payload.value == "ann_yes" for r in s.buttons for b in r)
    )
    assert question is screens[-1] and driver.state == "opt_in", "its own step, right after consent"
    labels = [b.payload.value for r in question.buttons for b in r if b.payload]
    assert {"ann_yes", "ann_no", "sos", "exit"} <= set(labels), "yes / no, and the 🆘 as on every screen"
    assert driver.text("maybe") and driver.state == "opt_in", "a typed answer: asked again, kindly"
    driver.press("ann_yes", step="*")
    assert [driver.announcements] == [True]
    assert driver.state == "menu", "answered: on to the menu"
    driver.press("unsub", step="*")  # an announcement's button, from any step
    assert [driver.announcements] == [False]
    outcome = driver.last
    assert outcome is not None and outcome.effects == [SetAnnouncements(enabled=False)]
    driver.press("unsub_irrelevant", step="*")
    assert driver.last is not None and driver.last.effects == [
        SetAnnouncements(enabled=False, reason="irrelevant")
    ]


def test_opt_in_buttons_do_nothing_without_consent(driver: DialogDriver) -> None:
    driver.command("start")
    driver.press("ann_yes", step="*")
    assert driver.announcements is False and driver.last is not None and driver.last.effects == []


def test_the_wizard_asks_text_audience_then_counts(driver: DialogDriver) -> None:
    out = admin_step(driver, None, {}, command("broadcast"))
    assert out.state == "bc_text"
    out = admin_step(
        driver, out.state, out.persisted(), Event(kind=EventKind.TEXT, text="<b>Суббота</b> <script>")
    )
    assert out.state == "bc_attach", "then a photo or a document, if any"
    assert isinstance(out.data, BroadcastData) and out.data.text == "<b>Суббота</b> &lt;script&gt;"
    out = admin_step(driver, out.state, out.persisted(), press("bc_attach", "skip"))
    assert out.state == "bc_text_en", "then the English version, if any"
    out = admin_step(driver, out.state, out.persisted(), press("bc_text_en", "skip"))
    assert out.state == "bc_aud"
    out = admin_step(driver, out.state, out.persisted(), press("bc_aud", "lang"))
    assert out.state == "bc_filter"
    out = admin_step(driver, out.state, out.persisted(), press("bc_filter", "en"))
    assert out.state == "bc_preview" and out.effects == [CountAudience(audience=("lang", "en"))]
    assert out.screens == [], "the preview comes with the count"
    counted = Event(kind=EventKind.BROADCAST, what="counted", number=3)
    out = admin_step(driver, out.state, out.persisted(), counted)
    assert "📣" in out.screens[0].text and out.screens[0].buttons, "as families see it, with its button"
    assert "3" in out.screens[-1].text
    out = admin_step(driver, out.state, out.persisted(), press("bc_preview", "later"))
    out = admin_step(driver, out.state, out.persisted(), Event(kind=EventKind.TEXT, text="31.02 25:00"))
    assert out.effects == [] and out.state == "bc_when"
    out = admin_step(driver, out.state, out.persisted(), Event(kind=EventKind.TEXT, text="05.12 18:30"))
    assert out.effects == [
        SendBroadcast(text="<b>Суббота</b> &lt;script&gt;", audience=("lang", "en"), when=(5, 12, 18, 30))
    ]


def test_a_region_is_typed_and_found(driver: DialogDriver) -> None:
    out = admin_step(driver, None, {}, command("broadcast"))
    out = admin_step(driver, out.state, out.persisted(), Event(kind=EventKind.TEXT, text="hi"))
    out = admin_step(driver, out.state, out.persisted(), press("bc_attach", "skip"))
    out = admin_step(driver, out.state, out.persisted(), press("bc_text_en", "skip"))
    out = admin_step(driver, out.state, out.persisted(), press("bc_aud", "region"))
    out = admin_step(driver, out.state, out.persisted(), Event(kind=EventKind.TEXT, text="Атлантида"))
    assert out.state == "bc_filter" and out.effects == []
    out = admin_step(driver, out.state, out.persisted(), Event(kind=EventKind.TEXT, text="Москва"))
    assert out.effects == [CountAudience(audience=("region", "msk"))]


def test_cancel_command_cancels_from_anywhere(driver: DialogDriver) -> None:
    out = admin_step(driver, "menu", {}, command("broadcast_cancel"))
    assert out.effects == [CancelBroadcasts()] and out.state == "bc_home"


def test_families_are_refused_every_admin_command_and_button(driver: DialogDriver) -> None:
    driver.consent = "test-1"
    unknown = admin_step(driver, "menu", {}, command("nonsense"), Role.FAMILY).screens[0].text
    for name in ("broadcast", "broadcast_cancel", "admin"):
        out = admin_step(driver, "menu", {}, command(name), Role.FAMILY)
        assert out.state == "menu" and out.effects == [] and out.screens[0].text == unknown
    for step, value in (("bc_preview", "now"), ("bc_home", "stop"), ("adm_home", "broadcasts")):
        out = admin_step(driver, "menu", {}, press(step, value), Role.FAMILY)
        assert out.state == "menu" and out.effects == []
    # Saved in the wizard, then no longer an admin: back in the family's dialog, nothing sent.
    out = admin_step(driver, "bc_preview", {"text": "x", "count": 5}, press("bc_preview", "now"), Role.FAMILY)
    assert out.effects == [] and not out.state.startswith("bc_")


def test_admin_html_keeps_paired_tags_only() -> None:
    assert admin_html("<b>a</b> & <i>b</i>") == "<b>a</b> &amp; <i>b</i>"
    assert admin_html("<b>a") == "&lt;b&gt;a"
    assert admin_html('<a href="x">y</a>') == '&lt;a href="x"&gt;y&lt;/a&gt;'


async def test_broadcasts_keep_broadcast_rate_and_yield_to_replies() -> None:
    time = FakeTime(auto=True)
    p = PriorityPacer(PacerSettings(bulk=Limit(5, 1.0)), clock=time.clock, sleep=time.sleep)
    start = time.now
    for n in range(11):
        await p.wait(ChatRef.parse(f"tg:{1000 + n}"), Priority.BULK)
    assert time.now - start >= 2.0, "11 at 5 a second take two seconds at least"
    before = time.now
    await p.wait(ChatRef.parse("tg:1"), Priority.REPLY)
    assert time.now == before, "a reply never waits for the broadcast"
