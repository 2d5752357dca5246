"""DIRECTORY_FILE: a region's directory of help from a CSV file named in the settings (the format
the admin's /directory exports), read at start.

The file replaces the directory only when it changed since it was last read (its SHA-256 is kept
in the ``cursors`` table): admins' edits in the bot survive restarts, and a new file wins. A file
with a wrong row stops the start with one line naming DIRECTORY_FILE and the row.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Collection
from pathlib import Path

from dialogs.reports import Report
from handlers.directory_admin import import_csv
from storage.uow import Database

log = logging.getLogger(__name__)
CURSOR = "directory_file"


class DirectoryFileError(Exception):
    """The file cannot be read, or a row is wrong: the message names the first problem."""


async def load_directory_file(db: Database, path: Path, regions: Collection[str]) -> int | None:
    """How many resources the file put in the directory; None when it had not changed."""
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise DirectoryFileError(
            f"cannot read {str(path)!r} ({exc.strerror or type(exc).__name__})"
        ) from None
    digest = hashlib.sha256(content).hexdigest()
    async with db.uow() as uow:
        if await uow.cursors.load(CURSOR) == digest:
            return None
        result = await import_csv(uow, content, frozenset(regions))
        if isinstance(result, Report):
            # Logs and the start's one line are in English: the report's lines untranslated.
            first = " ".join(line.message.format(**line.params) for line in result.lines[1:3])
            raise DirectoryFileError(f"{str(path)!r}: {first or 'invalid'}")
        await uow.cursors.save(CURSOR, digest)
        await uow.audit.add(
            "settings", "directory_imported", details={"resources": result, "file": path.name}
        )
    log.info("the directory of help was replaced from DIRECTORY_FILE: %d resources", result)
    return result
