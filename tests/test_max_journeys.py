"""A family's whole way on MAX: our MAX client, the MAX emulator and a real SQLite file."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.sandbox.max.emulator import MaxEmulator
from storage.vocabulary import Category, TicketStatus
from tests.flows_support import ANSWERS, WORDS, person, tickets
from tests.max_e2e import MaxParent

LOCALES = {"ru": "ru-RU", "en": "en-US"}


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("category", list(Category))
async def test_from_start_to_a_saved_request(
    max_emu: MaxEmulator, max_parent: MaxParent, max_app: Application, category: Category, lang: str
) -> None:
    parent = max_parent
    parent.user = max_emu.user(8100 + len(lang) + list(Category).index(category), locale=LOCALES[lang])
    seen = parent.texts(await parent.start())  # MAX's own "Start" button
    consent = parent.last_with_buttons()
    assert {b["type"] for b in consent.buttons()} <= {"callback", "link"}
    seen += parent.texts(await parent.tap_value("yes"))
    await parent.walk("new", "no", category.value, *ANSWERS[category], "3", "0", "2", "7")
    await parent.tap_value("p.1")  # the second page of regions: the same message, edited in place
    assert parent.find("r.vlg")[0].edits == 1
    await parent.tap_value("r.vlg")
    await parent.say("У нас <b>беда</b> & нужна помощь")
    await parent.send(parent.user.photo(), text="справка")
    await parent.send(parent.user.voice())
    await parent.tap_value("done")
    phone_screen = (await parent.tap_value("phone"))[-1]
    # MAX has a contact button: the phone is shared with one tap.
    assert any(b["type"] == "request_contact" for b in phone_screen.buttons())
    await parent.send(parent.user.contact("+79161234567"))
    summary = parent.last_with_buttons()
    seen += summary.text
    assert "&lt;b&gt;беда&lt;/b&gt; &amp; нужна" in summary.text  # MAX's html format: user text escaped
    done = await parent.tap_value("send")
    seen += parent.texts(done)
    for word in WORDS[lang]:
        assert word in seen, seen
    assert any(str(b.get("payload")).endswith(":sos") for b in summary.buttons())  # SOS on every screen

    [ticket] = await tickets(app=max_app)
    assert ticket.category == category.value and ticket.status == TicketStatus.NEW.value
    assert ticket.children_ages == [0, 2, 7] and ticket.region_code == "vlg"
    assert ticket.phone == "+79161234567" and ticket.contact_method == "phone"
    assert ticket.description == "У нас <b>беда</b> & нужна помощь\n\nсправка"
    assert [a["kind"] for a in ticket.attachments] == ["photo", "voice"]
    assert all(a["ref"].startswith("max:") and a["url"] for a in ticket.attachments)
    assert ticket.locale == lang
    assert f"#{ticket.id}" in parent.texts(done)
    stored = await person(max_app, f"max:{parent.user.user_id}")
    assert stored is not None and stored.consent_version == "test-1" and stored.locale == lang
    # Every call went through the spec check (the fixture fails the test on any error).
    assert max_emu.calls and max_emu.spec_checked
