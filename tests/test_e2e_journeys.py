"""A parent's whole way, through the real aiogram stack, the Bot API emulator and a real SQLite file."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.vocabulary import Category, TicketStatus
from tests.e2e import Parent
from tests.flows_support import ANSWERS, WORDS, agree, person, tickets


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("category", list(Category))
async def test_from_start_to_a_saved_request(
    parent: Parent, emulator: TelegramEmulator, app: Application, category: Category, lang: str
) -> None:
    parent.language_code = lang
    seen = parent.texts(await parent.say("/start"))
    consent_message = parent.last_with_buttons()
    assert consent_message.params.get("parse_mode") == "HTML"
    replies = await parent.tap_value("yes")
    seen += parent.texts(replies)
    await parent.tap_value("new")
    await parent.tap_value("no")
    await parent.tap_value(category.value)
    for answer in ANSWERS[category]:
        await parent.tap_value(answer)
    await parent.tap_value("3")
    for age in ("0", "2", "7"):
        await parent.tap_value(age)
    await parent.tap_value("p.1")  # the second page of regions, edited in place
    await parent.tap_value("r.vlg")
    await parent.say("У нас <b>беда</b> & нужна помощь")
    await parent.send(photo=True, caption="справка")
    await parent.send(voice=True)
    await parent.tap_value("done")
    await parent.tap_value("phone")
    phone_screen = emulator.last_sent(parent.chat_id)
    assert any(b.get("request_contact") for b in emulator.reply_keyboard(phone_screen))
    await parent.send(contact_phone="+79161234567")
    summary = parent.last_with_buttons()
    seen += summary.text or ""
    assert summary.params.get("protect_content") is True
    assert "&lt;b&gt;беда&lt;/b&gt; &amp;" in summary.params["text"]  # escaped in HTML mode
    assert "<b>беда</b>" in (summary.text or "")  # and shown to the parent as typed
    done = await parent.tap_value("send")
    seen += parent.texts(done)
    for word in WORDS[lang]:
        assert word in seen, seen

    saved = await tickets(app)
    assert len(saved) == 1
    ticket = saved[0]
    assert ticket.category == category.value
    assert ticket.status == TicketStatus.NEW.value
    assert ticket.children_count == 3 and ticket.children_ages == [0, 2, 7] and ticket.has_under4
    assert ticket.region_code == "vlg"
    assert ticket.phone == "+79161234567" and ticket.contact_method == "phone"
    assert ticket.description == "У нас <b>беда</b> & нужна помощь\n\nсправка"
    assert [a["kind"] for a in ticket.attachments] == ["photo", "voice"]
    assert all(a["ref"].startswith("tg:") for a in ticket.attachments)
    assert ticket.locale == lang
    assert ticket.urgent is (category in {Category.HUMANITARIAN, Category.HOUSING})
    assert f"#{ticket.id}" in parent.texts(done)
    stored = await person(app, f"tg:{parent.user_id}")
    assert stored is not None and stored.consent_version == "test-1" and stored.consent_at is not None
    assert stored.locale == lang


async def test_commands_menu_in_both_languages(app: Application, emulator: TelegramEmulator) -> None:
    languages = {lang for (_scope, lang) in emulator.my_commands}
    assert {"ru", "en", ""} <= languages
    ru = {c["command"]: c["description"] for c in emulator.my_commands[("all_private_chats", "ru")]}
    en = {c["command"]: c["description"] for c in emulator.my_commands[("all_private_chats", "en")]}
    assert {"start", "sos", "erase", "my_data", "delete_my_data", "language"} <= set(ru)
    assert ru["sos"] != en["sos"]


async def test_danger_path_urgent_call_back(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    await agree(parent)
    await parent.tap_value("new")
    replies = await parent.tap_value("yes")
    text = parent.texts(replies)
    for number in ("112", "8-800-2000-122", "124"):
        assert number in text
    await parent.tap_value("callback")
    await parent.say("8 912 000-11-22")
    removed = [m for m in emulator.sent_to(parent.chat_id) if (m.reply_markup or {}).get("remove_keyboard")]
    assert removed, "the share-contact keyboard must be taken away"
    [ticket] = await tickets(app)
    assert ticket.urgent and ticket.callback_requested and ticket.phone == "+79120001122"


async def test_danger_words_anywhere(parent: Parent, app: Application) -> None:
    await agree(parent)
    await parent.walk("new", "no", "other", "1", "4", "r.msk")
    replies = await parent.say("Сын говорит, что не хочет жить")
    assert "112" in parent.texts(replies)
    await parent.walk("done", "chat", "send")
    [ticket] = await tickets(app)
    assert ticket.urgent and "suicide" in ticket.danger


async def test_consent_refusal_keeps_nothing(parent: Parent, app: Application) -> None:
    await parent.say("/start")
    replies = await parent.tap_value("no")
    assert "112" in parent.texts(replies)
    await parent.say("помогите нам с едой")
    await parent.say("/requests")
    assert await tickets(app) == []
    stored = await person(app, f"tg:{parent.user_id}")
    assert stored is not None and stored.consent_version is None and stored.region is None
