"""Helpers for the directory of help and figures tests: an admin and a family on the conversation
service with a fake messenger, and a pure engine context with resources."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.sandbox.telegram.emulator import SentMessage, TelegramEmulator
from dialogs import engine
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Event, EventKind, Role
from dialogs.resources import Resource
from dialogs.state import Attachment, PersonView
from handlers.conversation import ConversationService
from handlers.ports import FileData
from storage.uow import Database
from storage.vocabulary import AttachmentKind
from tests.e2e import Parent
from tests.fakes import FakeMessenger, Family, conversation

ADMIN = 7


def service(
    db: Database, messenger: FakeMessenger, translators: Translators, directory: Directory
) -> ConversationService:
    return conversation(db, messenger, translators, directory, locale="en")


def admin(svc: ConversationService) -> Family:
    person = Family(svc, user_id=ADMIN, role=Role.ADMIN)
    person.update_id = 100_000  # update ids are per bot: never the family's
    return person


def document(ref: str, name: str = "directory.csv") -> Event:
    return Event(
        kind=EventKind.MEDIA, attachment=Attachment(kind=AttachmentKind.DOCUMENT, ref=ref, name=name)
    )


def last_text(messenger: FakeMessenger) -> str:
    return messenger.sent[-1][1].text


def context(
    translators: Translators,
    directory: Directory,
    resources: tuple[Resource, ...],
    *,
    role: Role = Role.ADMIN,
    region: str | None = None,
) -> engine.Context:
    person = PersonView(
        key="tg:7",
        locale="en",
        consent_version="v1",
        consent_at=datetime(2026, 11, 1, tzinfo=UTC),
        announcements=False,
        region=region,
        created_at=None,
    )
    return engine.Context(
        translators=translators,
        locale="en",
        person=person,
        tickets=(),
        directory=directory,
        consent_version="v1",
        role=role,
        resources=resources,
    )


async def send_file(parent: Parent, content: bytes) -> list[SentMessage]:
    """The person sends a document whose bytes are ``content`` (served by the emulator's getFile)."""
    emulator = parent.emulator
    update_id = emulator.message(parent.user_id, document=True, language_code=parent.language_code)
    # Nothing has awaited since: the bot has not fetched the update yet, the bytes are in place first.
    message = emulator.find_message(parent.chat_id, emulator.last_user_message_id(parent.chat_id))
    assert message is not None
    emulator.files[message.raw["document"]["file_id"]] = content
    return await parent._after(update_id)


def documents(emulator: TelegramEmulator, chat_id: int) -> list[bytes]:
    """What the bot sent to a chat as documents, as the emulator keeps their bytes."""
    return [
        emulator.files[m.raw["document"]["file_id"]]
        for m in emulator.sent_to(chat_id)
        if m.from_bot and "document" in m.raw
    ]


class WatchingMessenger(FakeMessenger):
    """Notes, at every download, whether the database had a connection (a transaction) open."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.open_during_fetch: list[int] = []

    async def fetch_file(self, attachment: Attachment, *, limit: int | None = None) -> FileData | None:
        self.open_during_fetch.append(self.db.engine.pool.checkedout())  # type: ignore[attr-defined]
        return await super().fetch_file(attachment, limit=limit)
