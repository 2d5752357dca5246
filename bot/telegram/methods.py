"""sendMessage and editMessageText as our sends need them: the same requests, lighter answers.

Telegram answers a sent or edited text with the whole message: the text, the chat, the sender and the
keyboard echoed back. aiogram turns that into a dozen pydantic models per reply (the message, its chat
and sender, the markup, each button), and our sends only ever read the message's id: in a burst of
families pressing /start that was 8% of the bot's CPU (py-spy during `python -m bench.burst`). These
methods send exactly what aiogram's own do (they are subclasses; the emulator checks each request
against the Bot API spec) and read only the id; the rest of the answer is not kept at all.
"""

from __future__ import annotations

from aiogram.methods import EditMessageText, SendMessage
from pydantic import BaseModel, ConfigDict


class SentText(BaseModel):
    """What Telegram answered to a sent or edited text, as far as we read it. A plain model, not one
    of aiogram's: theirs keep every field of the answer they do not declare (``extra="allow"``) and
    bind the bot to each object in Python, which cost more than the rest of reading the answer."""

    model_config = ConfigDict(frozen=True)

    message_id: int


class SendText(SendMessage):
    __returning__ = SentText  # type: ignore[assignment]


class EditText(EditMessageText):
    __returning__ = SentText | bool
