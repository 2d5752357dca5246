"""Files the bot makes for the person who asked (an admin's QR codes, CSV and XLSX exports): sent
after the turn's commit, never inside its transaction.

An upload can take seconds, and a 429 minutes; on SQLite a turn's transaction holds the one write
lock from its first write (the update id) to its commit, so a file sent inside it would hold every
family's turn behind an admin's export. An effect reads what it needs in the transaction and leaves
an ``Upload``; the bytes are made off the loop (a year's XLSX is seconds of CPU) and sent after the
commit, before the turn's screens (the report comes under the files). When one cannot be sent, the
turn's screens are not sent: the service runs a report turn of its own with ``FAILED`` instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dialogs.i18n import N_
from dialogs.primitives import Event, EventKind
from dialogs.reports import Report
from handlers.ports import (
    DeliveryFailedError,
    FileRefusedError,
    Messenger,
    RecipientUnreachableError,
    send_file,
)

log = logging.getLogger(__name__)

# What the dialog is told when a file could not be sent (a messenger that refuses it, an outage).
FAILED = Event(
    kind=EventKind.REPORT,
    what="failed",
    system=Report.of(
        N_("I could not send the file here. Please try again in a few minutes, or from Telegram.")
    ),
)


@dataclass(frozen=True)
class Upload:
    """One file: ``make`` builds its bytes from what the transaction read (plain data, no session).

    ``document``: sent as a file even when it is a picture (a QR code to print keeps its pixels),
    with ``caption`` under it; otherwise a PNG goes as a photo (``handlers.ports.send_file``)."""

    name: str
    make: Callable[[], bytes]
    caption: str = ""
    document: bool = False


async def send_uploads(messenger: Messenger, chat_id: int, uploads: Sequence[Upload]) -> bool:
    """Make and send each file in order; False at the first that could not be made or sent."""
    for upload in uploads:
        try:
            content = await asyncio.to_thread(upload.make)
        except Exception:
            log.exception("a file for an admin could not be made")
            return False
        try:
            if upload.document:
                await messenger.send_document(chat_id, upload.name, content, caption=upload.caption)
            else:
                await send_file(messenger, chat_id, upload.name, content)
        except (DeliveryFailedError, FileRefusedError, RecipientUnreachableError) as exc:
            log.info("a file could not be sent: %s", exc)
            return False
        except Exception:
            # After the commit nothing may escape unanswered (the turn's update is done with): any
            # other failure of a messenger is told the same way, and logged whole.
            log.exception("a file could not be sent")
            return False
    return True
