"""The Telegram session (bot/telegram/session.py) keeps the response classes it parses with: pydantic only
caches a generic class while something holds it, and rebuilding it for every answer cost a burst
of families 5% of the bot's CPU."""

from __future__ import annotations

import gc
import weakref
from typing import Any, cast

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import Response
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.telegram.app import create_bot
from bot.telegram.methods import EditText, SendText, SentText


async def test_the_response_class_is_built_once_across_garbage_collections(
    emulator: TelegramEmulator,
) -> None:
    bot = create_bot("123:abc", emulator.base_url)
    try:
        first = await bot.send_message(chat_id=42, text="one")
        built = weakref.ref(Response[Message])
        gc.collect()
        assert built() is not None, "the class parsed with is kept, not built again for the next answer"
        second = await bot.send_message(chat_id=42, text="two")
        assert Response[Message] is built()
        assert (first.text, second.text) == ("one", "two")
    finally:
        await bot.session.close()


async def test_calls_go_as_json_and_uploads_as_multipart(emulator: TelegramEmulator) -> None:
    """A text with a keyboard goes as a JSON body, exactly as the form carried it; a file still goes
    as a multipart form, which is the only way to upload one."""
    bot = create_bot("123:abc", emulator.base_url)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="✅ Даю согласие", callback_data="d:consent:yes")]]
    )
    try:
        sent = await bot.send_message(
            chat_id=42, text="Здравствуйте, <b>мама</b>", parse_mode="HTML", reply_markup=keyboard
        )
        await bot.send_document(chat_id=42, document=BufferedInputFile(b"a;b\n1;2\n", filename="t.csv"))
    finally:
        await bot.session.close()
    text, upload = emulator.calls_of("sendMessage")[-1], emulator.calls_of("sendDocument")[-1]
    assert text.content_type == "application/json"
    assert upload.content_type == "multipart/form-data"
    assert text.params["text"] == "Здравствуйте, <b>мама</b>" and text.params["parse_mode"] == "HTML"
    [message] = [m for m in emulator.sent_to(42) if m.message_id == sent.message_id]
    assert emulator.buttons(message) == [("✅ Даю согласие", "d:consent:yes")]
    assert sent.text == "Здравствуйте, мама"
    emulator.assert_no_spec_errors()


async def test_a_sent_text_is_read_for_its_id_only(emulator: TelegramEmulator) -> None:
    """Our sends read only the id of what Telegram answered (bot/telegram/methods.py): the rest of the
    answer, the keyboard echoed back, is not turned into models; the request is aiogram's own."""
    bot = create_bot("123:abc", emulator.base_url)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Да", callback_data="d:x:yes")]]
    )
    try:
        # What is returned is not what aiogram's types say (a Message): the point of these methods.
        answer = cast(object, await bot(SendText(chat_id=42, text="Вопрос", reply_markup=keyboard)))
        assert isinstance(answer, SentText)
        edit = EditText(chat_id=42, message_id=answer.message_id, text="Вопрос снят")
        edited = cast(object, await bot(edit))
    finally:
        await bot.session.close()
    assert type(answer) is SentText, "not a Message with its chat, sender and keyboard as models"
    assert answer.message_id == emulator.last_sent(42).message_id
    assert isinstance(edited, SentText) and edited.message_id == answer.message_id
    assert emulator.last_sent(42).text == "Вопрос снят"
    emulator.assert_no_spec_errors()


async def test_a_kept_keyboard_is_walked_once_and_a_new_one_is_sent_as_it_is(
    emulator: TelegramEmulator,
) -> None:
    """Most screens share one kept keyboard (bot/telegram/render.py): what it becomes in the request
    is kept with it, so it is not walked field by field again for every message that carries it."""
    bot = create_bot("123:abc", emulator.base_url)
    session = bot.session
    welcome = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=f"Кнопка {n}", callback_data=f"d:x:{n}")] for n in range(6)
        ]
    )
    walked: list[object] = []
    prepare = session.prepare_value

    def counting(value: object, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, InlineKeyboardMarkup):
            walked.append(value)
        return prepare(value, *args, **kwargs)

    session.prepare_value = counting  # type: ignore[method-assign]
    try:
        for n in range(3):
            await bot(SendText(chat_id=42, text=f"Экран {n}", reply_markup=welcome))
        other = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Другая", callback_data="d:y:1")]]
        )
        await bot(SendText(chat_id=42, text="Другой экран", reply_markup=other))
    finally:
        await bot.session.close()
    assert walked == [welcome, other], "each keyboard object walked once, however often it is sent"
    sent = emulator.sent_to(42)
    assert [emulator.buttons(m) for m in sent[:3]] == [[(f"Кнопка {n}", f"d:x:{n}") for n in range(6)]] * 3
    assert emulator.buttons(sent[3]) == [("Другая", "d:y:1")]
    emulator.assert_no_spec_errors()


async def test_an_answer_is_read_from_its_text_and_a_refusal_as_aiogram_reads_it(
    emulator: TelegramEmulator,
) -> None:
    """A successful answer is read by pydantic straight from the JSON text (aiogram's ``json_loads``
    is not called); a refusal still goes through aiogram, which raises the error that names it."""
    bot = create_bot("123:abc", emulator.base_url)
    session = bot.session
    decoded: list[str] = []
    loads = session.json_loads

    def counting(text: str) -> Any:
        decoded.append(text)
        return loads(text)

    session.json_loads = counting
    try:
        sent = cast(object, await bot(SendText(chat_id=42, text="Здравствуйте")))
        me = await bot.get_me()
        assert decoded == [], "successful answers are not decoded in Python first"
        emulator.fail_next("sendMessage", error_code=429, retry_after=7)
        with pytest.raises(TelegramRetryAfter) as slowed:
            await bot(SendText(chat_id=42, text="Ещё раз"))
        emulator.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot(SendText(chat_id=42, text="Ещё раз"))
    finally:
        await bot.session.close()
    assert isinstance(sent, SentText) and sent.message_id == emulator.last_sent(42).message_id
    assert me.is_bot and me.bot is bot, "aiogram's objects are still bound to the bot"
    assert slowed.value.retry_after == 7
    assert len(decoded) == 2, "each refusal read by aiogram's own path"
    assert [m.text for m in emulator.sent_to(42)] == ["Здравствуйте"]
