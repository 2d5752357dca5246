"""Tests of the Telegram Bot API emulator itself, driven by the real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    InputMediaVideo,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from bot.sandbox.telegram import spec as spec_telegram
from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.telegram.spec import spec_available, validate_request

TOKEN = "123456:TEST-emulator-token"
USER = 1001
needs_spec = pytest.mark.skipif(not spec_available(), reason="Bot API spec file is absent")


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    client = Bot(TOKEN, session=session)
    yield client
    await client.session.close()


async def raw_call(emu: TelegramEmulator, method: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    """Call the emulator by hand, bypassing aiogram's own request building."""
    form = aiohttp.FormData({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()})
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}/bot{TOKEN}/{method}", data=form) as resp,
    ):
        return resp.status, await resp.json()


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Нужна помощь", callback_data="help:need")],
            [InlineKeyboardButton(text="Отмена", callback_data="help:cancel")],
        ]
    )


async def test_send_message_with_inline_keyboard(emu: TelegramEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (42, True, "family_help_test_bot")
    emu.message(USER, "/start")
    sent = await bot.send_message(USER, "Привет, <b>мама</b>!", parse_mode="HTML", reply_markup=keyboard())
    assert sent.message_id == 2  # the user's /start took id 1 in the same chat
    assert sent.chat.type == "private"
    assert sent.from_user is not None
    assert sent.from_user.id == 42
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == keyboard().model_dump()
    stored = emu.last_sent(USER)
    assert stored.text == "Привет, мама!"
    assert stored.params["text"] == "Привет, <b>мама</b>!"
    assert emu.buttons(stored) == [("Нужна помощь", "help:need"), ("Отмена", "help:cancel")]
    assert emu.button_data(stored, "отмена") == "help:cancel"
    assert not emu.spec_errors
    assert emu.calls_of("sendMessage")[0].params["chat_id"] == USER


async def test_reply_keyboard_and_media_pass_the_spec(emu: TelegramEmulator, bot: Bot) -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Телефон", request_contact=True)]], resize_keyboard=True
    )
    await bot.send_message(USER, "Поделитесь номером", reply_markup=markup)
    assert emu.reply_keyboard(emu.last_sent(USER)) == [{"text": "Телефон", "request_contact": True}]
    photo = await bot.send_photo(USER, BufferedInputFile(b"\x89PNG fake", "p.png"), caption="фото")
    assert photo.photo is not None
    assert photo.caption == "фото"
    album = await bot.send_media_group(
        USER,
        [
            InputMediaPhoto(media=BufferedInputFile(b"a", "a.jpg"), caption="раз"),
            InputMediaVideo(media=BufferedInputFile(b"b", "b.mp4")),
        ],
    )
    assert len({m.media_group_id for m in album}) == 1
    await bot.send_location(USER, latitude=55.75, longitude=37.62)
    await bot.send_contact(USER, phone_number="+79990000000", first_name="Мама")
    assert [m.method for m in emu.sent_to(USER)][-2:] == ["sendLocation", "sendContact"]
    file = await bot.get_file(photo.photo[-1].file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == b"\x89PNG fake"
    emu.assert_no_spec_errors()


@needs_spec
async def test_unknown_parameter_is_a_spec_error(emu: TelegramEmulator) -> None:
    status, body = await raw_call(emu, "sendMessage", chat_id="1", text="hi", colour="red")
    assert status == 400
    assert body["ok"] is False
    assert "unknown parameter 'colour'" in body["description"]
    assert body["description"].startswith("Bad Request: ")
    assert emu.spec_errors == ["sendMessage: unknown parameter 'colour'"]


@needs_spec
async def test_missing_required_parameter_is_a_spec_error(emu: TelegramEmulator) -> None:
    status, body = await raw_call(emu, "sendMessage", chat_id="1")
    assert status == 400
    assert "missing required parameter 'text'" in body["description"]
    assert emu.spec_errors


@needs_spec
async def test_unknown_method_is_a_spec_error(emu: TelegramEmulator) -> None:
    status, body = await raw_call(emu, "sendTelepathy", chat_id="1")
    assert status == 400
    assert "unknown method 'sendTelepathy'" in body["description"]
    # Method names are case-insensitive on the Bot API.
    status, body = await raw_call(emu, "SENDMESSAGE", chat_id="1", text="ok")
    assert status == 200
    assert body["result"]["text"] == "ok"


async def test_json_body_and_get_requests(emu: TelegramEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        payload = {"chat_id": USER, "text": "json", "reply_markup": {"inline_keyboard": []}}
        async with session.post(f"{emu.base_url}/bot{TOKEN}/sendMessage", json=payload) as resp:
            body = await resp.json()
        assert body["ok"] is True
        assert body["result"]["chat"]["id"] == USER
        async with session.get(f"{emu.base_url}/bot{TOKEN}/getMe") as resp:
            assert (await resp.json())["result"]["id"] == 42
        async with session.post(f"{emu.base_url}/bot{TOKEN}/getMe", data="{", headers=_JSON) as resp:
            assert resp.status == 400
    assert emu.last_sent(USER).text == "json"


_JSON = {"Content-Type": "application/json"}


@needs_spec
async def test_nested_objects_are_validated(emu: TelegramEmulator) -> None:
    bad_button = {"inline_keyboard": [[{"text": "a", "callback_data": "x", "colour": "red"}]]}
    status, body = await raw_call(emu, "sendMessage", chat_id="1", text="t", reply_markup=bad_button)
    assert status == 400
    assert "unknown field 'colour' for InlineKeyboardButton" in body["description"]
    wrong_type = {"inline_keyboard": [[{"text": "a", "callback_data": 5}]]}
    status, body = await raw_call(emu, "sendMessage", chat_id="1", text="t", reply_markup=wrong_type)
    assert status == 400
    assert "callback_data: expected String" in body["description"]
    no_text = {"inline_keyboard": [[{"callback_data": "x"}]]}
    status, body = await raw_call(emu, "sendMessage", chat_id="1", text="t", reply_markup=no_text)
    assert status == 400
    assert "lacks required field 'text'" in body["description"]


@needs_spec
def test_validator_types_and_subtypes() -> None:
    assert (
        validate_request("sendMessage", {"chat_id": "-100123", "text": "x", "disable_notification": "true"})
        == []
    )
    assert validate_request("sendMessage", {"chat_id": "@channel", "text": "x"}) == []
    assert validate_request("sendMessage", {"chat_id": 1, "text": "x", "protect_content": "yes"})
    assert validate_request("sendLocation", {"chat_id": 1, "latitude": "55.7", "longitude": "east"})
    assert validate_request("sendLocation", {"chat_id": 1, "latitude": "55.7", "longitude": 37}) == []
    assert validate_request("deleteMessages", {"chat_id": 1, "message_ids": "[1, 2]"}) == []
    assert validate_request("deleteMessages", {"chat_id": 1, "message_ids": '["a"]'})
    scope = json.dumps({"type": "chat", "chat_id": 5})
    commands = json.dumps([{"command": "start", "description": "Начать"}])
    assert validate_request("setMyCommands", {"commands": commands, "scope": scope}) == []
    bad_scope = json.dumps({"type": "chat", "chat_id": 5, "planet": "Mars"})
    assert validate_request("setMyCommands", {"commands": commands, "scope": bad_scope})
    assert validate_request("sendPhoto", {"chat_id": 1, "photo": "attach://missing"})


async def test_spec_absent_skips_validation(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("TELEGRAM_SPEC", str(tmp_path / "absent.json"))
    spec_telegram._load.cache_clear()
    try:
        assert validate_request("sendTelepathy", {"x": 1}) == []
        emulator = TelegramEmulator()
        assert emulator.spec_checked is False
    finally:
        monkeypatch.undo()
        spec_telegram._load.cache_clear()


async def test_retry_after_injection(emu: TelegramEmulator, bot: Bot) -> None:
    emu.fail_next("sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(USER, "first")
    assert exc_info.value.retry_after == 7
    await bot.send_message(USER, "second")
    assert [m.text for m in emu.sent_to(USER)] == ["second"]


async def test_other_faults(emu: TelegramEmulator, bot: Bot) -> None:
    emu.fail_next("sendMessage", error_code=400, migrate_to_chat_id=-100123, chat_id=-5)
    await bot.send_message(USER, "other chats are unaffected")
    with pytest.raises(TelegramMigrateToChat) as migrated:
        await bot.send_message(-5, "group")
    assert migrated.value.migrate_to_chat_id == -100123
    emu.fail_next("sendMessage", error_code=500, times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER, "x")
    emu.fail_next("sendMessage", timeout=True, delay=3)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "slow", request_timeout=1)


async def test_blocked_user_gets_forbidden(emu: TelegramEmulator, bot: Bot) -> None:
    emu.block(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello")
    await bot.send_message(USER + 1, "someone else is fine")


async def test_get_updates_long_poll_wakes_on_push(emu: TelegramEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = asyncio.get_running_loop().time()
    update_id = emu.message(USER, "/start")
    updates = await asyncio.wait_for(poll, 2)
    assert asyncio.get_running_loop().time() - started < 1
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start"
    assert message.entities is not None
    assert message.entities[0].type == "bot_command"
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []


async def test_user_media_updates_parse(emu: TelegramEmulator, bot: Bot) -> None:
    emu.message(USER, photo=True, caption="смотрите")
    emu.message(USER, document=True)
    emu.message(USER, voice=True)
    emu.message(USER, video=True, sticker=False)
    emu.message(USER, audio=True)
    emu.message(USER, sticker=True)
    emu.message(USER, contact_phone="+79991234567")
    emu.message(USER, location=(55.0, 37.0))
    emu.message(-1001, "в группе", chat_id=-100555, message_thread_id=7)
    updates = await bot.get_updates()
    kinds = [u.message.content_type for u in updates if u.message]
    assert kinds == ["photo", "document", "voice", "video", "audio", "sticker", "contact", "location", "text"]
    group = updates[-1].message
    assert group is not None
    assert group.chat.type == "supergroup"
    assert group.message_thread_id == 7


async def test_edit_and_delete_rules(emu: TelegramEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER, "v1", reply_markup=keyboard())
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="v2", chat_id=USER, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="v1", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard()
        )
    edited = await bot.edit_message_text(text="v2", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.reply_markup is None
    assert emu.last_sent(USER).text == "v2"
    assert emu.buttons(emu.last_sent(USER)) == []
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=keyboard())
    assert len(emu.buttons(emu.last_sent(USER))) == 2
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "a <x> b", parse_mode="HTML")

    emu.message(USER, "мой номер +7999")
    user_msg = emu.last_user_message_id(USER)
    old = (await bot.send_message(USER, "old")).message_id
    emu.age_message(USER, old, hours=49)
    with pytest.raises(TelegramBadRequest, match="message can't be deleted"):
        await bot.delete_message(USER, old)
    assert await bot.delete_messages(USER, [sent.message_id, user_msg, old])
    assert emu.deleted[USER] == {sent.message_id, user_msg}
    assert [m.message_id for m in emu.sent_to(USER)] == [old]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_commands_chat_and_member_queries(emu: TelegramEmulator, bot: Bot) -> None:
    commands = [BotCommand(command="start", description="Начать")]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=USER), language_code="ru")
    assert emu.my_commands[("chat:" + str(USER), "ru")] == [{"command": "start", "description": "Начать"}]
    got = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=USER), language_code="ru")
    assert [c.model_dump() for c in got] == [c.model_dump() for c in commands]
    await bot.set_my_description("Помощь семьям")
    assert await bot.delete_webhook(drop_pending_updates=True)
    chat = await bot.get_chat(-100777)
    assert chat.type == "supergroup"
    member = await bot.get_chat_member(-100777, USER)
    assert member.status == "member"
    admins = await bot.get_chat_administrators(-100777)
    assert admins[0].user.id == 42
    assert await bot.send_chat_action(USER, "typing")
    emu.assert_no_spec_errors()


async def test_invalid_callback_answer(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")


async def test_dispatcher_round_trip_and_duplicate_update(emu: TelegramEmulator, bot: Bot) -> None:
    router = Router()
    seen: list[int] = []

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        seen.append(message.message_id)
        await message.answer("Чем помочь?", reply_markup=keyboard())

    @router.callback_query(F.data == "help:need")
    async def need(query: CallbackQuery) -> None:
        await query.answer("Принято", show_alert=True)
        assert isinstance(query.message, Message)
        await query.message.edit_text("Ищем волонтёра…")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        first = emu.message(USER, "/start")
        (menu,) = await emu.wait_sent(USER, 1)
        query_update = emu.callback(USER, menu.message_id, emu.button_data(menu, "помощь"))
        query_id = emu.all_updates[query_update]["callback_query"]["id"]
        await emu.wait_for(lambda: emu.last_sent(USER).text == "Ищем волонтёра…")
        assert emu.callback_answers[query_id] == {"text": "Принято", "show_alert": True, "url": None}
        emu.repeat_update(first)
        await emu.wait_for(lambda: len(seen) == 2)
        assert seen[0] == seen[1]  # the same update, redelivered with the same ids
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)
    # The stopped poller's long poll is still open server-side; it must not swallow new updates.
    later = emu.message(USER, "после остановки")
    await asyncio.sleep(0.1)
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [later]
    emu.assert_no_spec_errors()


async def test_allowed_updates_filter_and_my_chat_member(emu: TelegramEmulator, bot: Bot) -> None:
    emu.my_chat_member(USER)
    assert await bot.get_updates(allowed_updates=["message"]) == []
    assert emu.filtered_updates[0]["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    update_id = emu.my_chat_member(USER, "member")
    updates = await bot.get_updates(allowed_updates=["my_chat_member"])
    assert [u.update_id for u in updates] == [update_id]
    await bot.send_message(USER, "снова с вами")
    emu.my_chat_member(USER, "administrator", chat_id=-100900)
    assert (await bot.get_chat_member(-100900, 42)).status == "administrator"
