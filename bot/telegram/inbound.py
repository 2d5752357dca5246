"""Telegram updates -> neutral ``Inbound`` events for the one router in handlers/. Nothing else.

No rule about roles is written here: which chat is a family's, an admin's or the coordinators' is
decided by ``handlers.router``, for every platform alike.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.types import CallbackQuery, Chat, ChatMemberUpdated, Message, Update, User

from bot.telegram.callbacks import DialogCallback
from bot.telegram.render import to_event
from dialogs.primitives import Event, EventKind, text_event
from handlers.router import Inbound, InboundRouter
from storage.vocabulary import ChatKind, ChatRef, Platform

UNREADABLE = "unreadable"  # what an UNSUPPORTED event says of a message aiogram could not read

KINDS = {
    ChatType.PRIVATE: ChatKind.PRIVATE,
    ChatType.GROUP: ChatKind.GROUP,
    ChatType.SUPERGROUP: ChatKind.GROUP,
}


def create_router() -> Router:
    """A new router per Dispatcher: a router can belong to one Dispatcher only (restarts, tests)."""
    router = Router(name=__name__)
    # One handler for every message, which tells the kinds apart itself: aiogram calls each handler's
    # filter in turn (its arguments resolved for each call), and a family's text passed three filters
    # before its own: 15% of aiogram's dispatch of a text (bench: 81 -> 68 us).
    router.message.register(on_any_message)
    router.callback_query.register(on_button)
    router.my_chat_member.register(on_membership, _in_private)
    # Registering it makes allowed_updates ask for chat_member (Telegram sends it to admin bots only).
    router.chat_member.register(on_chat_member, _in_group)
    return router


# Filters are coroutines on purpose: aiogram runs a plain callable, magic filters (``F.x``) included,
# in a worker thread (``asyncio.to_thread``), two thread hops per message for one attribute test.
async def _in_private(update: ChatMemberUpdated) -> bool:
    return update.chat.type == ChatType.PRIVATE


async def _in_group(update: ChatMemberUpdated) -> bool:
    return update.chat.type != ChatType.PRIVATE


def chat_ref(chat: Chat) -> ChatRef | None:
    """Channels and unknown kinds of chat are not ours."""
    kind = KINDS.get(ChatType(chat.type)) if chat.type in set(ChatType) else None
    return None if kind is None else ChatRef(Platform.TELEGRAM, chat.id, kind)


def _name(user: User) -> str:
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


async def _to_us(message: Message, event: Event) -> Event:
    """ "/bind@other_bot" in a group is for another bot: only plain text to us."""
    text = message.text or ""
    head = text.split(maxsplit=1)[0] if text else ""
    if event.kind is EventKind.COMMAND and "@" in head and message.bot is not None:
        me = await message.bot.me()
        if head.split("@", 1)[1].lower() != (me.username or "").lower():
            return Event(kind=EventKind.TEXT, text=text)
    return event


async def _replies_to_bot(message: Message) -> bool:
    """Whether the replied message is this bot's own (a forum topic's opening message is not)."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.forum_topic_created or message.bot is None:
        return False
    return replied.from_user.id == (await message.bot.me()).id


async def on_any_message(message: Message, event_update: Update, router: InboundRouter) -> None:
    """A group that moved, someone who left or joined, or a message someone sent (a channel's post,
    sent by no one, is not ours)."""
    if message.migrate_to_chat_id is not None:
        await on_migrated(message, router)
    elif message.left_chat_member is not None:
        await on_left(message, event_update, router)
    elif message.new_chat_members:
        await on_joined(message, event_update, router)
    elif message.from_user is not None:
        await on_message(message, event_update, router)


async def on_message(message: Message, event_update: Update, router: InboundRouter) -> None:
    user, chat = message.from_user, chat_ref(message.chat)
    if user is None or chat is None or (user.is_bot and not chat.is_private):
        return
    group = not chat.is_private
    await router.route(
        Inbound(
            chat=chat,
            user_id=user.id,
            user_name=_name(user),
            event=await _to_us(message, to_event(message)) if group else to_event(message),
            update_id=event_update.update_id,
            message_id=message.message_id,
            language_code=user.language_code,
            reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
            reply_to_bot=await _replies_to_bot(message) if group else False,
            thread_id=message.message_thread_id if message.is_topic_message else None,
            text=message.text or message.caption or "",
            has_media=message.text is None,
        )
    )


async def on_button(query: CallbackQuery, event_update: Update, router: InboundRouter) -> None:
    message = query.message
    chat = chat_ref(message.chat) if message is not None else None
    if message is None or chat is None:
        await query.answer()
        return
    try:
        # Forged or foreign callback data becomes a button without a payload: answered kindly.
        payload = DialogCallback.unpack(query.data or "").neutral()
    except (TypeError, ValueError):
        payload = None
    answer = await router.route(
        Inbound(
            chat=chat,
            user_id=query.from_user.id,
            user_name=_name(query.from_user),
            event=Event(kind=EventKind.BUTTON, payload=payload),
            update_id=event_update.update_id,
            message_id=message.message_id,
            language_code=query.from_user.language_code,
        )
    )
    await query.answer(text=answer.text, show_alert=answer.alert)


async def on_migrated(message: Message, router: InboundRouter) -> None:
    """The group became a supergroup: tickets, cards and the default chat follow it."""
    chat = chat_ref(message.chat)
    if message.migrate_to_chat_id is not None and chat is not None:
        await router.migrated(chat, message.migrate_to_chat_id)


async def on_membership(update: ChatMemberUpdated, router: InboundRouter) -> None:
    """A parent blocked (or unblocked) the bot: stop (or resume) sending to them."""
    status = update.new_chat_member.status
    reachable = status not in {ChatMemberStatus.KICKED, ChatMemberStatus.LEFT}
    await router.membership(Platform.TELEGRAM, update.from_user.id, reachable=reachable)


async def _member(chat: Chat, user: User, kind: EventKind, update_id: int, router: InboundRouter) -> None:
    ref = chat_ref(chat)
    if ref is not None and not user.is_bot:
        event = Event(kind=kind)
        await router.route(Inbound(chat=ref, user_id=user.id, event=event, update_id=update_id))


async def on_left(message: Message, event_update: Update, router: InboundRouter) -> None:
    """Someone left the group, or was removed (the service message every group member sees)."""
    if message.left_chat_member is not None:
        left = message.left_chat_member
        await _member(message.chat, left, EventKind.MEMBER_LEFT, event_update.update_id, router)


async def on_joined(message: Message, event_update: Update, router: InboundRouter) -> None:
    for user in message.new_chat_members or []:
        await _member(message.chat, user, EventKind.MEMBER_JOINED, event_update.update_id, router)


async def on_chat_member(update: ChatMemberUpdated, event_update: Update, router: InboundRouter) -> None:
    """A member's status changed in a group: gone (left, kicked) or in it (again)."""
    gone = {ChatMemberStatus.LEFT, ChatMemberStatus.KICKED}
    was_gone, is_gone = update.old_chat_member.status in gone, update.new_chat_member.status in gone
    if was_gone != is_gone:
        kind = EventKind.MEMBER_LEFT if is_gone else EventKind.MEMBER_JOINED
        await _member(update.chat, update.new_chat_member.user, kind, event_update.update_id, router)


# What a family's plain text in their private chat carries, and nothing more (``plain_text``).
PLAIN_MESSAGE = {"message_id": int, "date": int, "chat": dict, "from": dict, "text": str, "entities": list}
PLAIN_CHAT = {"id": int, "type": str, "first_name": str, "last_name": str, "username": str}
PLAIN_SENDER = {
    "id": int,
    "is_bot": bool,
    "first_name": str,
    "last_name": str,
    "username": str,
    "language_code": str,
    "is_premium": bool,
}


# Marks in a text (a /command, a link, bold...), which the router does not read; one that names a user
# (a text mention) carries a whole user, and goes through aiogram.
PLAIN_ENTITY = {
    "type": str,
    "offset": int,
    "length": int,
    "url": str,
    "language": str,
    "custom_emoji_id": str,
}


def _plain(data: object, fields: dict[str, type], required: tuple[str, ...]) -> bool:
    """Only the given fields, each of its type (``bool`` is not an ``int`` here), and the required."""
    return (
        isinstance(data, dict)
        and all(key in fields and type(value) is fields[key] for key, value in data.items())
        and all(key in data for key in required)
    )


def plain_text(raw: dict[str, Any]) -> Inbound | None:
    """A family's plain text in their private chat (who, where, when and the words, with the marks of
    a command or a link in them: no reply, no forward, no media), read as ``on_message`` reads it
    through aiogram; None for anything else, which aiogram reads. Most of what families send: read
    this way before aiogram's models and dispatch (bot/telegram/polling.py), tested to be the same."""
    message = raw.get("message")
    if not isinstance(message, dict) or raw.keys() != {"update_id", "message"}:
        return None
    if not _plain(message, PLAIN_MESSAGE, ("message_id", "date", "chat", "from", "text")):
        return None
    chat, sender, text = message["chat"], message["from"], message["text"]
    if not (
        text
        and abs(message["date"]) < 2**40  # a time aiogram can read (larger: its ValidationError)
        and type(raw["update_id"]) is int
        and _plain(chat, PLAIN_CHAT, ("id", "type"))
        and chat["type"] == ChatType.PRIVATE
        and _plain(sender, PLAIN_SENDER, ("id", "is_bot", "first_name"))
        and sender["is_bot"] is False
        and all(
            _plain(entity, PLAIN_ENTITY, ("type", "offset", "length"))
            for entity in message.get("entities", ())
        )
    ):
        return None
    first, last, username = sender["first_name"], sender.get("last_name"), sender.get("username")
    full_name = f"{first} {last}" if last else first  # as aiogram's ``User.full_name``
    return Inbound(
        chat=ChatRef(Platform.TELEGRAM, chat["id"], ChatKind.PRIVATE),
        user_id=sender["id"],
        user_name=full_name or (f"@{username}" if username else str(sender["id"])),
        event=text_event(text),
        update_id=raw["update_id"],
        message_id=message["message_id"],
        language_code=sender.get("language_code"),
        text=text,
        has_media=False,
    )


def unreadable(raw: dict[str, Any]) -> Inbound | None:
    """What can still be read of a family's private message that aiogram could not (a field of a
    kind it does not expect): who wrote, where, and the text if there is one, so that an SOS is still
    an SOS and anything else is answered kindly instead of never. None for anything else."""
    message = raw.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender = message.get("chat"), message.get("from")
    if not (isinstance(chat, dict) and isinstance(sender, dict) and chat.get("type") == "private"):
        return None
    chat_id, user_id, text = chat.get("id"), sender.get("id"), message.get("text")
    if not isinstance(chat_id, int) or not isinstance(user_id, int) or sender.get("is_bot") is True:
        return None
    message_id = message.get("message_id")
    return Inbound(
        chat=ChatRef(Platform.TELEGRAM, chat_id, ChatKind.PRIVATE),
        user_id=user_id,
        event=text_event(text)
        if isinstance(text, str) and text
        else Event(kind=EventKind.UNSUPPORTED, what=UNREADABLE),
        update_id=raw["update_id"],
        message_id=message_id if isinstance(message_id, int) else None,
        text=text if isinstance(text, str) else "",
        has_media=not isinstance(text, str),
    )
