"""A family's whole way on VK: the real vk-api client, the VK emulator and a real SQLite file."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.sandbox.vk.emulator import VkEmulator, VkMessage
from storage.models import ChatMessage, Person, Ticket
from storage.vocabulary import Category, TicketStatus
from tests.flows_support import ANSWERS, WORDS, person, state_of, tickets
from tests.vk_e2e import VkParent

LANG_IDS = {"ru": 0, "en": 3}


async def agree(parent: VkParent) -> None:
    await parent.start()
    await parent.tap_value("yes")


async def to_description(parent: VkParent) -> None:
    await agree(parent)
    await parent.walk("new", "no", "legal", "benefits", "1", "4", "r.msk")


async def finish(parent: VkParent) -> list[VkMessage]:
    return await parent.walk("done", "chat", "send")


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("category", list(Category))
async def test_from_start_to_a_saved_request(
    vk: VkEmulator, vk_parent: VkParent, vk_app: Application, category: Category, lang: str
) -> None:
    parent = vk_parent
    parent.user = vk.user(7100 + LANG_IDS[lang], lang_id=LANG_IDS[lang])
    seen = parent.texts(await parent.start())  # VK's own "Начать" button
    consent = parent.last_with_buttons()
    assert consent.keyboard is not None and consent.keyboard.get("inline") is True
    assert {b["type"] for b in consent.buttons()} <= {"callback", "open_link"}
    seen += parent.texts(await parent.tap_value("yes"))
    await parent.walk("new", "no", category.value, *ANSWERS[category], "3", "0", "2", "7")
    regions = await parent.tap_value("p.1")  # the second page of regions
    # Too many buttons for an inline keyboard: the regular one under the input field holds them.
    assert regions[-1].keyboard is not None and not regions[-1].keyboard.get("inline")
    await parent.tap_value("r.vlg")
    await parent.say("У нас <b>беда</b> & нужна помощь")
    await parent.send(parent.user.photo(), text="справка")
    await parent.send(parent.user.voice())
    await parent.tap_value("done")
    phone_screen = (await parent.tap_value("phone"))[-1]
    # No share-contact button on VK: the bot asks for the number to be typed.
    assert "+7 900 123-45-67" in phone_screen.text
    assert all(b["type"] == "text" for b in phone_screen.buttons())
    await parent.say("+7 916 123-45-67")
    summary = parent.last_with_buttons()
    seen += summary.text
    assert "<b>беда</b> & нужна" in summary.text  # plain text on VK: shown exactly as typed
    done = await parent.tap_value("send")
    seen += parent.texts(done)
    for word in WORDS[lang]:
        assert word in seen, seen

    [ticket] = await tickets(app=vk_app)
    assert ticket.category == category.value and ticket.status == TicketStatus.NEW.value
    assert ticket.children_ages == [0, 2, 7] and ticket.region_code == "vlg"
    assert ticket.phone == "+79161234567" and ticket.contact_method == "phone"
    assert ticket.description == "У нас <b>беда</b> & нужна помощь\n\nсправка"
    assert [a["kind"] for a in ticket.attachments] == ["photo", "voice"]
    assert all(a["ref"].startswith("vk:") and a["url"] for a in ticket.attachments)
    assert ticket.locale == lang
    assert f"#{ticket.id}" in parent.texts(done)
    stored = await person(vk_app, f"vk:{parent.peer_id}")
    assert stored is not None and stored.consent_version == "test-1" and stored.locale == lang
    # Every message carried its own random_id, so a retried send is never shown twice.
    sends = [c for c in vk.calls if c.method == "messages.send" and c.error is None]
    random_ids = [int(c.params["random_id"]) for c in sends]
    assert all(random_ids) and len(set(random_ids)) == len(random_ids)
    # Every press was answered, so the person's app stopped spinning.
    assert len(vk.answers()) == sum(1 for c in vk.calls if c.method == "messages.sendMessageEventAnswer")


async def test_the_first_message_without_start_gets_the_greeting(vk_parent: VkParent) -> None:
    replies = await vk_parent.say("Здравствуйте, нам нужна помощь")
    assert any(button for m in replies for button in m.buttons()), "the consent question comes at once"
    assert vk_parent.find("yes")


async def test_emergency_path_and_danger_words(vk_parent: VkParent, vk_app: Application) -> None:
    parent = vk_parent
    replies = await parent.say("SOS")
    assert "112" in parent.texts(replies), "emergency numbers even before consent"
    await agree(parent)
    replies = await parent.say("/sos")
    assert "8-800-2000-122" in parent.texts(replies)
    await parent.tap_value("new")
    replies = await parent.tap_value("yes")  # someone is in danger right now
    assert "112" in parent.texts(replies)
    await parent.tap_value("callback")
    await parent.say("8 912 000-11-22")
    [ticket] = await tickets(app=vk_app)
    assert ticket.urgent and ticket.callback_requested and ticket.phone == "+79120001122"
    await parent.walk("new", "no", "psychological", "child", "chat", "1", "4", "r.msk")
    replies = await parent.say("Сын говорит, что не хочет жить")
    assert "112" in parent.texts(replies)
    await finish(parent)
    urgent = [t for t in await tickets(app=vk_app) if "suicide" in t.danger]
    assert urgent and urgent[0].urgent


async def test_every_screen_has_the_emergency_button(vk_parent: VkParent) -> None:
    parent = vk_parent
    await agree(parent)
    for value in ("new", "no", "legal", "benefits", "1", "4"):
        screen = parent.last_with_buttons()
        values = [json.loads(b["payload"]) for b in screen.buttons() if b.get("payload")]
        assert "d:*:sos" in values, screen.text
        await parent.tap_value(value)


async def test_bad_input_gets_a_kind_answer_and_changes_nothing(
    vk: VkEmulator, vk_parent: VkParent, vk_app: Application
) -> None:
    parent = vk_parent
    key = f"vk:{parent.peer_id}"
    await agree(parent)
    await parent.walk("new", "no")
    assert await state_of(vk_app, key) == "t_category"
    for action in (
        parent.sticker(),
        parent.say(""),
        parent.say("/frobnicate"),
        parent.send(parent.user.photo()),
    ):
        replies = await action
        assert replies, "every bad input gets an answer"
        assert parent.find("legal"), "the question is asked again"
        assert await state_of(vk_app, key) == "t_category"
    replies = await parent.say("я" * 10_000)
    assert "4000" in parent.texts(replies)
    # Forged payloads: garbage, an unknown step, a ticket that is not theirs, a payload that is an object.
    cmid = parent.last_with_buttons().cmid
    for payload in ('"garbage"', '"d:mr_list:wd.1"', '"d:*:nonsense"', '{"cmd": "x"}', '"d:a:b:c"'):
        await parent.press_payload(payload, cmid)
        assert await state_of(vk_app, key) == "t_category"
    assert await tickets(app=vk_app) == []


async def test_a_press_on_an_old_keyboard(vk: VkEmulator, vk_parent: VkParent, vk_app: Application) -> None:
    parent = vk_parent
    key = f"vk:{parent.peer_id}"
    await agree(parent)
    await parent.tap_value("new")
    danger_question = parent.last_with_buttons()
    await parent.tap_value("no")
    [yes] = [b for b in danger_question.buttons() if str(b.get("payload", "")).endswith(':yes"')]
    replies = await parent.press_payload(str(yes["payload"]), danger_question.cmid)
    assert await state_of(vk_app, key) == "t_category"
    assert parent.find("housing") and replies
    answer = vk.answers()[-1]
    assert json.loads(answer["event_data"])["type"] == "show_snackbar"


async def test_an_app_without_inline_keyboards_gets_text_buttons(
    vk: VkEmulator, vk_parent: VkParent, vk_app: Application
) -> None:
    parent = vk_parent
    parent.user = vk.user(7301, inline=False)
    await parent.start()
    consent = parent.last_with_buttons()
    assert consent.keyboard is not None and not consent.keyboard.get("inline")
    assert {b["type"] for b in consent.buttons()} <= {"text", "open_link"}
    await parent.walk("yes", "new", "no", "legal", "benefits", "1", "4", "r.msk")
    await parent.say("Нужна консультация юриста")
    done = await finish(parent)
    [ticket] = await tickets(app=vk_app)
    assert f"#{ticket.id}" in parent.texts(done)


async def test_my_requests_add_and_withdraw(vk_parent: VkParent, vk_app: Application) -> None:
    parent = vk_parent
    await to_description(parent)
    await parent.say("Бывший муж не платит алименты")
    await finish(parent)
    [ticket] = await tickets(app=vk_app)
    replies = await parent.tap_value("requests")
    assert f"#{ticket.id}" in parent.texts(replies)
    await parent.tap_value(f"add.{ticket.id}")
    await parent.say("Суд назначен на понедельник")
    await parent.tap_value("done")
    await parent.say("/requests")
    await parent.tap_value(f"wd.{ticket.id}")
    await parent.tap_value("yes")
    [ticket] = await tickets(app=vk_app)
    assert ticket.status == "withdrawn"
    replies = await parent.say("/contacts")
    assert "8-800-2000-122" in parent.texts(replies)


async def test_quick_exit_deletes_what_vk_allows(
    vk: VkEmulator, vk_parent: VkParent, vk_app: Application
) -> None:
    parent = vk_parent
    await to_description(parent)
    await parent.say("Он проверяет мой телефон")
    old = parent.messages()[0]
    vk.age_message(parent.peer_id, old.cmid, hours=30)  # VK deletes for everyone within 24 hours only
    await parent.say("/erase")
    await vk.wait_for(lambda: any(c.method == "messages.delete" for c in vk.calls))
    [call] = [c for c in vk.calls if c.method == "messages.delete"]
    assert call.params["delete_for_all"] in {"1", "true"}
    cmids = {int(x) for x in call.params["cmids"].split(",")}
    bot_cmids = {m.cmid for m in parent.messages()}
    assert bot_cmids - {old.cmid} <= cmids  # the bot's messages of the last 24 hours
    assert len(cmids - bot_cmids) >= 3  # and the parent's own, /erase included
    assert all(m.deleted for m in parent.messages() if m.cmid != old.cmid)
    assert vk_app.db is not None
    async with vk_app.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(ChatMessage)) == 0
    await parent.say("/help")
    assert "24" in parent.messages()[-1].text and "VK" in parent.messages()[-1].text
    await parent.start()
    await parent.tap_value("continue")
    assert await state_of(vk_app, f"vk:{parent.peer_id}") == "t_desc"


async def test_my_data_and_delete_my_data(vk: VkEmulator, vk_parent: VkParent, vk_app: Application) -> None:
    parent = vk_parent
    key = f"vk:{parent.peer_id}"
    await to_description(parent)
    await parent.send(parent.user.doc())
    await parent.say("Нужна помощь с документами")
    await finish(parent)
    replies = await parent.say("/my_data")
    assert key in parent.texts(replies) and "test-1" in parent.texts(replies)
    await parent.say("/delete_my_data")
    assert await parent.tap_value("yes")
    assert await person(vk_app, key) is None
    assert vk_app.db is not None
    async with vk_app.db.uow() as uow:
        [stored] = (await uow.session.scalars(select(Person))).all()
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
    assert stored.key.startswith("deleted:")
    assert ticket.attachments == [] and ticket.status == "withdrawn"
    replies = await parent.start()
    assert parent.find("yes"), "consent is asked again"


async def test_quick_exit_with_text_buttons_deletes_the_taps_and_the_keyboard(
    vk: VkEmulator, vk_parent: VkParent
) -> None:
    parent = vk_parent
    parent.user = vk.user(7302, inline=False)
    await parent.start()
    await parent.walk("yes", "new", "no", "legal")
    taps = [m for m in vk.history[parent.peer_id] if not m.from_bot and m.payload]
    assert len(taps) >= 4  # each tap on a text button is a message of the parent's own
    await parent.tap_value("exit")
    await vk.wait_for(lambda: any(c.method == "messages.delete" for c in vk.calls))
    assert all(m.deleted for m in parent.messages()), vk.dump()
    # VK lets a community delete only its own messages for everyone; the taps were asked for too.
    [call] = [c for c in vk.calls if c.method == "messages.delete"]
    assert {t.cmid for t in taps} <= {int(x) for x in call.params["cmids"].split(",")}
    cleared = [m for m in parent.messages() if m.keyboard is not None and m.keyboard.get("buttons") == []]
    assert cleared, "the keyboard under the input field is taken away before the deletion"
