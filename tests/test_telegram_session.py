"""The Telegram session (bot/telegram/session.py) keeps the response classes it parses with: pydantic only
caches a generic class while something holds it, and rebuilding it for every answer cost a burst
of families 5% of the bot's CPU."""

from __future__ import annotations

import gc
import weakref
from typing import cast

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
