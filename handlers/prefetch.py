"""Files a turn will read, fetched before the turn's transaction.

A download can take seconds; inside the turn's transaction it would hold the database (SQLite's one
writer) that long. So the file is fetched first, with no transaction open, and the turn's short
transaction then only validates and writes (all or nothing). Only a step that reads files
(``Step.reads_files``: the directory's list, which takes a CSV) costs a download.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dialogs.dispatch import Dialogs
from dialogs.primitives import EventKind, Incoming, Role
from handlers import directory_csv
from handlers.ports import (
    DeliveryFailedError,
    FileData,
    FileRefusedError,
    Messenger,
    RecipientUnreachableError,
)
from storage.uow import Database

log = logging.getLogger(__name__)
LIMIT = directory_csv.MAX_BYTES  # the largest file any step reads


@dataclass(frozen=True)
class Fetched:
    """A file's bytes, or why there are none (None and no error: the platform does not keep it)."""

    data: FileData | None = None
    error: Exception | None = None


async def prefetch(
    db: Database, dialogs: Dialogs, messenger: Messenger, incoming: Incoming, key: str
) -> dict[str, Fetched]:
    """The files of ``incoming`` that its turn will read, by their ref."""
    attachment = incoming.event.attachment
    if incoming.role is not Role.ADMIN or incoming.event.kind is not EventKind.MEDIA or attachment is None:
        return {}
    async with db.uow() as uow:  # a read only, finished before the download starts
        stored = await uow.dialogs.load(key)
    if not dialogs.reads_files(stored[0] if stored else None):
        return {}
    try:
        return {attachment.ref: Fetched(data=await messenger.fetch_file(attachment, limit=LIMIT))}
    except (FileRefusedError, DeliveryFailedError, RecipientUnreachableError) as exc:
        log.info("an admin's file could not be read: %s", type(exc).__name__)
        return {attachment.ref: Fetched(error=exc)}
