"""A Messenger that records what it is asked to do: for use-case tests and benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from dialogs.assembly import assemble
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Incoming, Payload, Role, Screen, Traits
from dialogs.state import Attachment
from handlers.conversation import ConversationService
from handlers.dialog_context import ConversationSettings
from handlers.ports import (
    ChatRights,
    FileData,
    FileRefusedError,
    IntentRefusedError,
    RecipientUnreachableError,
    SendResult,
)
from storage.uow import Database, UnitOfWork
from storage.vocabulary import AttachmentKind, ChatRef, Platform


@dataclass
class FakeMessenger:
    platform: Platform = Platform.TELEGRAM
    traits: Traits = field(default_factory=Traits)
    sent: list[tuple[int, Screen]] = field(default_factory=list)
    edited: list[tuple[int, int, Screen]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    uploaded: list[tuple[int, FileData]] = field(default_factory=list)
    fail_with: Exception | None = None
    edit_ok: bool = True
    next_id: int = 1000
    record: bool = True  # benchmarks measure our memory, not the fake's recordings
    files: dict[str, bytes] = field(
        default_factory=dict
    )  # what ``fetch_file`` serves, by ref (others: fake bytes)

    async def send(
        self,
        chat_id: int,
        screen: Screen,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        dedup: str | None = None,  # Telegram has no idempotent send
    ) -> list[int]:
        if self.fail_with is not None:
            raise self.fail_with
        self.next_id += 1
        if self.record:
            self.sent.append((chat_id, screen))
        return [self.next_id]

    async def copy(
        self,
        from_chat: int,
        message_id: int,
        to_chat: int,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int:
        self.next_id += 1
        return self.next_id

    async def send_files(
        self, chat_id: int, files: Any, *, reply_to: int | None = None, thread_id: int | None = None
    ) -> list[int]:
        return []

    async def open_topic(self, chat_id: int, name: str) -> int | None:
        return None

    async def rename_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        return None

    async def rights(self, chat_id: int) -> ChatRights:
        return ChatRights(can_post=True, is_admin=True)

    async def fetch_file(self, attachment: Attachment, *, limit: int | None = None) -> FileData | None:
        content = self.files.get(attachment.ref, b"fake file")
        if limit is not None and len(content) > limit:
            raise FileRefusedError(max(1, limit // (1024 * 1024)))
        return FileData(kind=attachment.kind, name=attachment.name or "file", data=content)

    async def upload_files(
        self,
        chat_id: int,
        files: Sequence[FileData],
        *,
        reply_to: int | None = None,
        dedup: str | None = None,
    ) -> list[int]:
        if self.fail_with is not None:
            raise self.fail_with
        self.uploaded += [(chat_id, f) for f in files]
        self.next_id += 1
        return [self.next_id]

    async def edit(self, chat_id: int, message_id: int, screen: Screen) -> bool:
        self.edited.append((chat_id, message_id, screen))
        return self.edit_ok

    async def delete(self, chat_id: int, message_ids: Sequence[int]) -> int:
        self.deleted += list(message_ids)
        return len(message_ids)

    async def send_document(self, chat_id: int, name: str, content: bytes, *, caption: str = "") -> list[int]:
        return await self.upload_files(
            chat_id, [FileData(kind=AttachmentKind.DOCUMENT, name=name, data=content)]
        )

    @property
    def documents(self) -> list[tuple[int, str, bytes]]:
        """Files the bot sent (exports go through ``upload_files``, like every file from the bot)."""
        return [(chat, f.name, f.data) for chat, f in self.uploaded]


@dataclass
class FakeManyMessenger(FakeMessenger):
    """VK as the bot sees it: one call shows a screen to up to ``fanout`` people (messages.send with
    peer_ids), with a result each; people in ``blocked`` have blocked the bot, ``refused`` refuse the
    intent. ``calls`` keeps every send_many call's chats."""

    platform: Platform = Platform.VK
    fanout: int = 100
    blocked: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)
    calls: list[list[int]] = field(default_factory=list)

    async def send_many(
        self, chat_ids: Sequence[int], screen: Screen, *, dedup: str
    ) -> dict[int, SendResult]:
        assert len(chat_ids) <= self.fanout
        self.calls.append(list(chat_ids))
        results: dict[int, SendResult] = {}
        for chat_id in chat_ids:
            if chat_id in self.blocked:
                results[chat_id] = RecipientUnreachableError(str(chat_id))
            elif chat_id in self.refused:
                results[chat_id] = IntentRefusedError(943)
            else:
                results[chat_id] = await self.send(chat_id, screen)
        return results


def conversation(
    db: Database,
    messenger: FakeMessenger,
    translators: Translators,
    directory: Directory,
    *,
    locale: str = "ru",
    **options: Any,
) -> ConversationService:
    """The conversation service of the use-case tests: every dialog, Telegram through ``messenger``
    (``options``: the service's own, a clock, shared locks, ...)."""
    return ConversationService(
        db,
        dialogs=assemble(),
        messengers={Platform.TELEGRAM: messenger},
        translators=translators,
        directory=directory,
        settings=ConversationSettings(consent_version="v-test", default_locale=locale),
        **options,
    )


class Family:
    """A person writing to the conversation service as a transport would hand their updates over."""

    def __init__(self, service: ConversationService, user_id: int = 42, role: Role = Role.FAMILY) -> None:
        self.service, self.user_id, self.update_id, self.message_id = service, user_id, 0, 0
        self.role = role

    async def send(self, event: Event) -> None:
        self.update_id += 1
        self.message_id += 1
        await self.service.handle(
            Incoming(
                platform=Platform.TELEGRAM,
                user_id=self.user_id,
                chat_id=self.user_id,
                event=event,
                update_id=self.update_id,
                message_id=self.message_id,
                language_code="ru",
                role=self.role,
            )
        )

    async def press(self, step: str, value: str) -> None:
        await self.send(Event(kind=EventKind.BUTTON, payload=Payload(step=step, value=value)))

    async def text(self, text: str) -> None:
        await self.send(Event(kind=EventKind.TEXT, text=text))

    async def to_summary(self) -> None:
        await self.send(Event(kind=EventKind.COMMAND, command="start"))
        await self.press("consent", "yes")
        await self.press("menu", "new")
        await self.press("t_danger", "no")
        await self.press("t_category", "other")
        await self.press("t_children", "0")
        await self.press("t_region", "r.msk")
        await self.text("Нужна помощь")
        await self.press("t_desc", "done")
        await self.press("t_contact", "chat")


class FakeTime:
    """A clock and a sleep for pacing tests: time moves when a test says so, never by waiting.

    With ``auto`` a sleep moves time by what it asked and returns; otherwise sleepers wait for
    ``move``, so a test can line several senders up before any of them may go.
    """

    def __init__(self, *, auto: bool = False, start: float = 1_000_000.0) -> None:
        self.now = start
        self.auto = auto
        self.slept: list[float] = []
        self._moved: asyncio.Event | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.auto:
            self.now += seconds
            await asyncio.sleep(0)
            return
        if self._moved is None:
            self._moved = asyncio.Event()
        await self._moved.wait()

    def move(self, seconds: float) -> None:
        self.now += seconds
        if self._moved is not None:
            self._moved.set()
            self._moved = None


@dataclass
class RecordingPacer:
    """Lets every message go at once and remembers who asked at which priority."""

    asked: list[tuple[str, int]] = field(default_factory=list)
    hurried: list[str] = field(default_factory=list)

    async def wait(
        self, chat: ChatRef, priority: int, *, paid: bool = False, count: int = 1, person: str | None = None
    ) -> None:
        self.asked.append((chat.key, int(priority)))

    def hurry(self, person: str) -> None:
        self.hurried.append(person)


@contextmanager
def units_of_work(db: Database) -> Iterator[list[tuple[bool, bool]]]:
    """Each unit of work entered meanwhile (past the pool's gate), in order: (quick, first)."""
    entered: list[tuple[bool, bool]] = []
    real = db.uow

    @asynccontextmanager
    async def recorded(*, quick: bool = False, first: bool = False) -> AsyncIterator[UnitOfWork]:
        async with real(quick=quick, first=first) as uow:
            entered.append((quick, first))
            yield uow

    db.uow = recorded  # type: ignore[method-assign]
    try:
        yield entered
    finally:
        db.uow = real  # type: ignore[method-assign]
