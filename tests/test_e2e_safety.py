"""Bad input, forged buttons, privacy commands and the quick exit, through the real stack."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import Application
from bot.sandbox.telegram.emulator import TelegramEmulator
from storage.models import ChatMessage, DialogStateRow, Person, Ticket
from tests.e2e import Parent
from tests.flows_support import agree, finish, person, state_of, tickets, to_description


async def send_request(parent: Parent) -> None:
    await parent.say("Бывший муж не платит алименты")
    await finish(parent)


async def test_bad_input_gets_a_kind_answer_and_changes_nothing(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    key = f"tg:{parent.user_id}"
    await agree(parent)
    await parent.tap_value("new")
    await parent.tap_value("no")
    assert await state_of(app, key) == "t_category"
    for action in (
        parent.send(sticker=True),
        parent.send(photo=True),
        parent.send(location=(55.75, 37.62)),
        parent.say("   "),
        parent.say("/frobnicate"),
    ):
        replies = await action
        assert replies, "every bad input gets an answer"
        assert any(data.endswith(":legal") for _t, data in emulator.buttons(replies[-1])), "question repeated"
        assert await state_of(app, key) == "t_category"
    await parent.tap_value("other")
    await parent.tap_value("0")
    await parent.say("Калужская область")
    assert await state_of(app, key) == "t_desc"
    replies = await parent.say("я" * 10_000)
    assert "4000" in parent.texts(replies)
    await parent.say("Коротко: нужна помощь")
    await finish(parent)
    [ticket] = await tickets(app)
    assert ticket.description == "Коротко: нужна помощь"


async def test_stale_and_forged_buttons(parent: Parent, emulator: TelegramEmulator, app: Application) -> None:
    key = f"tg:{parent.user_id}"
    await parent.say("/start")
    consent_message = parent.last_with_buttons()
    await parent.tap_value("yes")
    await parent.tap_value("new")
    danger_question = parent.last_with_buttons()
    await parent.tap_value("no")
    # A button of an old screen: a toast, the current question again, nothing changed.
    replies = await parent.tap_value("yes", message=danger_question)
    assert await state_of(app, key) == "t_category"
    assert any(data.endswith(":housing") for _t, data in emulator.buttons(replies[-1]))
    answer = list(emulator.callback_answers.values())[-1]
    assert answer.get("text")
    # Forged data: garbage, an unknown step, a ticket that is not theirs.
    for data in ("garbage", "d:mr_list:wd.1", "d:*:nonsense", "d:t_category:" + "x" * 40, "d:a:b:c"):
        await parent.press(consent_message.message_id, data)
        assert await state_of(app, key) == "t_category"
    assert await tickets(app) == []


async def test_old_button_after_a_restarted_dialog_is_refused(parent: Parent, app: Application) -> None:
    await to_description(parent)
    await send_request(parent)
    [ticket] = await tickets(app)
    await parent.tap_value("requests")
    withdraw_screen = parent.last_with_buttons()
    await parent.tap_value(f"wd.{ticket.id}")
    await parent.tap_value("yes")
    # Pressing "withdraw" again on the old list does nothing to the (already withdrawn) ticket.
    await parent.tap_value(f"wd.{ticket.id}", message=withdraw_screen)
    [ticket] = await tickets(app)
    assert ticket.status == "withdrawn"


async def test_my_data_and_delete_my_data(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    key = f"tg:{parent.user_id}"
    await to_description(parent)
    await parent.send(document=True)
    await send_request(parent)
    replies = await parent.say("/my_data")
    my_data = replies[-1]
    assert my_data.params.get("protect_content") is True
    assert key in (my_data.text or "") and "test-1" in (my_data.text or "")
    await parent.say("/delete_my_data")
    replies = await parent.tap_value("yes")
    assert replies
    assert await person(app, key) is None
    assert app.db is not None
    async with app.db.uow() as uow:
        people = (await uow.session.scalars(select(Person))).all()
        [ticket] = (await uow.session.scalars(select(Ticket))).all()
        states = await uow.session.scalar(select(func.count()).select_from(DialogStateRow))
    assert [p.key for p in people] == [f"deleted:{people[0].id}"]
    assert people[0].consent_version is None and people[0].region is None
    assert ticket.description == "" and ticket.attachments == [] and ticket.phone is None
    assert ticket.status == "withdrawn"
    assert states == 0
    replies = await parent.say("/start")
    assert any(data.endswith(":yes") for _t, data in emulator.buttons(replies[-1])), "consent is asked again"


async def test_quick_exit_deletes_both_sides_of_the_chat(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    await to_description(parent)
    await parent.say("Он проверяет мой телефон")
    bot_ids = {m.message_id for m in emulator.sent_to(parent.chat_id)}
    user_ids = {m.message_id for m in emulator.user_messages.get(parent.chat_id, [])}
    before = len(emulator.sent_to(parent.chat_id))
    await parent.say("/erase")
    await emulator.wait_for(lambda: bool(emulator.calls_of("deleteMessages")))
    deleted = emulator.deleted.get(parent.chat_id, set())
    assert bot_ids <= deleted
    assert user_ids <= deleted  # the parent's own messages, including /erase itself
    assert emulator.sent_to(parent.chat_id) == [] and before > 0
    assert app.db is not None
    async with app.db.uow() as uow:
        left = await uow.session.scalar(select(func.count()).select_from(ChatMessage))
    assert left == 0
    # The unfinished request is safe: the menu offers to continue it.
    await parent.say("/start")
    await parent.tap_value("continue")
    assert await state_of(app, f"tg:{parent.user_id}") == "t_desc"


async def test_group_chats_get_no_parent_dialog(parent: Parent, emulator: TelegramEmulator) -> None:
    group = -1001234567
    emulator.message(parent.user_id, "/start", chat_id=group, chat_type="supergroup")
    emulator.message(parent.user_id, "SOS", chat_id=group, chat_type="supergroup")
    await parent.say("/start")
    await asyncio.sleep(0.2)
    assert emulator.sent_to(group) == []


async def test_quick_exit_deletes_every_part_of_a_long_message(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    await to_description(parent)
    await parent.say("&" * 3400)  # escaped to &amp;: the summary needs two Telegram messages
    await parent.walk("done", "phone")
    await parent.say("+79001234567")
    summary_parts = [m for m in emulator.sent_to(parent.chat_id) if "&&&" in (m.text or "")]
    assert len(summary_parts) >= 2
    await parent.say("/erase")
    await emulator.wait_for(lambda: bool(emulator.calls_of("deleteMessages")))
    assert emulator.sent_to(parent.chat_id) == []


async def test_quick_exit_on_the_phone_step_leaves_no_keyboard_and_no_message(
    parent: Parent, emulator: TelegramEmulator
) -> None:
    await to_description(parent)
    await parent.say("Пишу быстро")
    await parent.walk("done", "phone")
    assert emulator.reply_keyboard(emulator.last_sent(parent.chat_id))
    await parent.say("/erase")
    await emulator.wait_for(lambda: bool(emulator.calls_of("deleteMessages")))
    removal = [m for m in emulator.messages[parent.chat_id] if (m.reply_markup or {}).get("remove_keyboard")]
    assert removal, "the share-contact keyboard is taken away"
    assert emulator.sent_to(parent.chat_id) == [], "and that message is deleted too"


async def test_deleting_data_also_clears_the_chat_and_the_region(
    parent: Parent, emulator: TelegramEmulator, app: Application
) -> None:
    await to_description(parent)
    await send_request(parent)
    before = {m.message_id for m in emulator.sent_to(parent.chat_id)}
    await parent.say("/delete_my_data")
    await parent.tap_value("yes")
    [ticket] = await tickets(app)
    assert ticket.region is None and ticket.region_code is None
    assert before <= emulator.deleted.get(parent.chat_id, set())
    assert len(emulator.sent_to(parent.chat_id)) == 1, "only the confirmation stays"
