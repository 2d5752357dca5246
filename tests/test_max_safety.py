"""A family on MAX: emergency numbers and danger words, bad input, forged buttons, privacy, quick exit."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import Application
from bot.sandbox.max.emulator import MaxEmulator, MaxMessage
from storage.models import ChatMessage, Person, Ticket
from tests.flows_support import person, state_of, tickets
from tests.max_e2e import MaxParent


async def agree(parent: MaxParent) -> None:
    await parent.start()
    await parent.tap_value("yes")


async def to_description(parent: MaxParent) -> None:
    await agree(parent)
    await parent.walk("new", "no", "legal", "benefits", "1", "4", "r.msk")


async def finish(parent: MaxParent) -> list[MaxMessage]:
    return await parent.walk("done", "chat", "send")


async def test_the_first_message_without_start_gets_the_greeting(max_parent: MaxParent) -> None:
    replies = await max_parent.say("Здравствуйте, нам нужна помощь")
    assert any(m.buttons() for m in replies), "the consent question comes at once"
    assert max_parent.find("yes")


async def test_emergency_path_and_danger_words(max_parent: MaxParent, max_app: Application) -> None:
    parent = max_parent
    replies = await parent.say("SOS")
    assert "112" in parent.texts(replies), "emergency numbers even before consent"
    await agree(parent)
    replies = await parent.say("/sos")
    assert "8-800-2000-122" in parent.texts(replies)
    await parent.tap_value("new")
    replies = await parent.tap_value("yes")  # someone is in danger right now
    assert "112" in parent.texts(replies)
    await parent.tap_value("callback")
    await parent.send(parent.user.contact("+79120001122"))
    [ticket] = await tickets(app=max_app)
    assert ticket.urgent and ticket.callback_requested and ticket.phone == "+79120001122"
    await parent.walk("new", "no", "psychological", "child", "chat", "1", "4", "r.msk")
    replies = await parent.say("Сын говорит, что не хочет жить")
    assert "112" in parent.texts(replies)
    await finish(parent)
    urgent = [t for t in await tickets(app=max_app) if "suicide" in t.danger]
    assert urgent and urgent[0].urgent


async def test_every_screen_has_the_emergency_button(max_parent: MaxParent) -> None:
    parent = max_parent
    await agree(parent)
    for value in ("new", "no", "legal", "benefits", "1", "4"):
        screen = parent.last_with_buttons()
        assert "d:*:sos" in [b.get("payload") for b in screen.buttons()], screen.text
        await parent.tap_value(value)


async def test_bad_input_and_forged_buttons_change_nothing(
    max_emu: MaxEmulator, max_parent: MaxParent, max_app: Application
) -> None:
    parent = max_parent
    key = f"max:{parent.user.user_id}"
    await agree(parent)
    await parent.walk("new", "no")
    assert await state_of(max_app, key) == "t_category"
    for action in (
        parent.send(parent.user.sticker()),
        parent.say(""),
        parent.say("/frobnicate"),
        parent.send(parent.user.photo()),
        parent.send(parent.user.contact(owner=4242)),  # someone else's contact card
    ):
        replies = await action
        assert replies, "every bad input gets an answer"
        assert parent.find("legal"), "the question is asked again"
        assert await state_of(max_app, key) == "t_category"
    replies = await parent.say("я" * 10_000)
    assert "4000" in parent.texts(replies)
    screen = parent.last_with_buttons()
    for payload in ("garbage", "d:mr_list:wd.1", "d:*:nonsense", '{"cmd": "x"}', "d:a:b:c", "x" * 2000):
        await parent.press(screen, payload)
        assert await state_of(max_app, key) == "t_category"
    assert await tickets(app=max_app) == []


async def test_a_press_on_an_old_keyboard(
    max_emu: MaxEmulator, max_parent: MaxParent, max_app: Application
) -> None:
    parent = max_parent
    await agree(parent)
    await parent.tap_value("new")
    danger_question = parent.last_with_buttons()
    await parent.tap_value("no")
    [yes] = [b for b in danger_question.buttons() if str(b.get("payload")).endswith(":yes")]
    await parent.press(danger_question, str(yes["payload"]))
    assert await state_of(max_app, f"max:{parent.user.user_id}") == "t_category"
    assert parent.find("housing")
    # The press got MAX's one-off notification saying the button is old.
    assert max_emu.answers and max_emu.answers[-1][1]["notification"]


async def test_my_requests_add_and_withdraw(max_parent: MaxParent, max_app: Application) -> None:
    parent = max_parent
    await to_description(parent)
    await parent.say("Бывший муж не платит алименты")
    await finish(parent)
    [ticket] = await tickets(app=max_app)
    replies = await parent.tap_value("requests")
    assert f"#{ticket.id}" in parent.texts(replies)
    await parent.tap_value(f"add.{ticket.id}")
    await parent.say("Суд назначен на понедельник")
    await parent.tap_value("done")
    await parent.say("/requests")
    await parent.tap_value(f"wd.{ticket.id}")
    await parent.tap_value("yes")
    [ticket] = await tickets(app=max_app)
    assert ticket.status == "withdrawn"


async def test_quick_exit_deletes_what_max_allows(
    max_emu: MaxEmulator, max_parent: MaxParent, max_app: Application
) -> None:
    parent = max_parent
    await to_description(parent)
    await parent.say("Он проверяет мой телефон")
    await parent.say("/erase")
    await max_emu.wait_for(lambda: all(m.deleted for m in parent.messages()))
    deletes = [c for c in max_emu.calls if c[0] == "DELETE" and c[1] == "/messages"]
    own = [m for m in max_emu.in_dialog(parent.user.user_id) if not m.from_bot]
    assert len(deletes) >= len(parent.messages()) + len(own)  # the parent's own were asked for too
    assert not any(m.deleted for m in own)  # MAX lets a bot delete only its own messages in a dialog
    assert max_app.db is not None
    async with max_app.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(ChatMessage)) == 0
    await parent.say("/help")
    assert "24" in parent.messages()[-1].text and "MAX" in parent.messages()[-1].text
    await parent.start()
    await parent.tap_value("continue")
    assert await state_of(max_app, f"max:{parent.user.user_id}") == "t_desc"


async def test_my_data_and_delete_my_data(max_parent: MaxParent, max_app: Application) -> None:
    parent = max_parent
    key = f"max:{parent.user.user_id}"
    await to_description(parent)
    await parent.send(parent.user.photo())
    await parent.say("Нужна помощь с документами")
    await finish(parent)
    replies = await parent.say("/my_data")
    assert key in parent.texts(replies) and "test-1" in parent.texts(replies)
    await parent.say("/delete_my_data")
    assert await parent.tap_value("yes")
    assert await person(max_app, key) is None
    assert max_app.db is not None
    async with max_app.db.uow() as uow:
        [stored] = (await uow.session.scalars(select(Person))).all()
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
    assert stored.key.startswith("deleted:")
    assert ticket.attachments == [] and ticket.status == "withdrawn"
    await parent.start()
    assert parent.find("yes"), "consent is asked again"
