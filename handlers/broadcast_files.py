"""An announcement's photo or document on every messenger, once, before the broadcast goes.

The admin's file lives on the admin's messenger (a Telegram file_id, say). Telegram families get it
by that same id; a messenger that keeps uploads for sending by reference (VK) gets it uploaded once,
for one family of the audience there, and every family there is sent that ref: one upload per
platform, never one per recipient. A broadcast with a file is not started until this is done
(``BroadcastsRepository.due``); a file that cannot be passed leaves that messenger the text alone.
The one shape of background work: read in a short transaction, fetch and upload outside any, write
the result in a new one (the first writer wins, so two replicas never start it twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dialogs.state import Attachment
from handlers.background import Job
from handlers.ports import (
    DeliveryFailedError,
    FileData,
    FileRefusedError,
    KeepsFiles,
    Messenger,
    RecipientUnreachableError,
)
from storage.uow import Database
from storage.vocabulary import Platform, parse_person_key

log = logging.getLogger(__name__)


class BroadcastFilesJob(Job):
    name = "broadcast_files"
    interval = 5.0
    delay = 1.0

    def __init__(self, db: Database, *, messengers: Mapping[Platform, Messenger]) -> None:
        super().__init__()
        self._db = db
        self._messengers = messengers
        # One round at a time in this process: two at once (a tick beside a wake) would both find the
        # same broadcast unprepared and upload its file twice.
        self._round = asyncio.Lock()

    async def run_once(self, now: datetime) -> int:
        async with self._round:
            return await self._run(now)

    async def _run(self, now: datetime) -> int:
        async with self._db.uow() as uow:
            todo = [(b.id, b.attachment, b.audience) for b in await uow.broadcasts.unprepared()]
        for broadcast_id, raw, audience in todo:
            if self.halted:
                break
            files = await self._prepare(Attachment.model_validate(raw), audience)
            async with self._db.uow() as uow:
                await uow.broadcasts.set_files(broadcast_id, files)
            log.info("broadcast %d: its file is on %d more messengers", broadcast_id, len(files))
        return len(todo)

    async def _prepare(self, attachment: Attachment, audience: dict[str, Any]) -> dict[str, Any]:
        prefix = attachment.ref.partition(":")[0]
        origin = Platform(prefix) if prefix in {p.value for p in Platform} else None
        source = self._messengers.get(origin) if origin is not None else None
        data: FileData | None = None
        files: dict[str, Any] = {}
        for platform, messenger in self._messengers.items():
            if platform is origin or not isinstance(messenger, KeepsFiles):
                continue
            async with self._db.uow() as uow:
                someone = await uow.broadcasts.someone_on(audience, platform.value)
            if someone is None:
                continue  # nobody there to send it to
            try:
                if data is None:
                    data = await source.fetch_file(attachment) if source is not None else None
                if data is None:
                    log.warning("an announcement's file could not be read from %s", origin)
                    return files
                stored = await messenger.store_file(parse_person_key(someone)[1], data)
            except (FileRefusedError, DeliveryFailedError, RecipientUnreachableError) as exc:
                log.warning("an announcement's file could not be put on %s: %s", platform.value, exc)
                continue
            files[platform.value] = stored.model_dump(mode="json")
        return files
