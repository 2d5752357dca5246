"""QR codes of the start links, drawn with ``segno`` (a well-kept, pure-Python QR library) and sent to
the admin as PNG files, one per link, with the link as the caption."""

from __future__ import annotations

import io
import logging
from functools import partial
from typing import Any

import segno

from dialogs.admin_effects import SendQrCodes
from dialogs.i18n import N_
from dialogs.primitives import Event, EventKind, Role
from dialogs.reports import Report
from handlers.uploads import Upload

log = logging.getLogger(__name__)
# Big enough to print on an A4 poster and still be read from a phone at arm's length.
SCALE = 10
BORDER = 4  # the quiet zone the QR standard asks for


def qr_png(link: str) -> bytes:
    """A QR code of ``link`` as a PNG; error correction "M" survives a crease or a smudge."""
    out = io.BytesIO()
    segno.make(link, error="m", micro=False).save(out, kind="png", scale=SCALE, border=BORDER)
    return out.getvalue()


async def send_qr_codes(scope: Any, effect: SendQrCodes) -> Event:
    """The codes are drawn and sent after the commit (handlers/uploads.py); the report under them."""
    incoming = scope.incoming
    if incoming is None or incoming.role is not Role.ADMIN or scope.messenger is None:
        log.warning("QR codes were refused: not asked by an admin")
        return Event(kind=EventKind.REPORT, what="refused", system=Report.of(N_("Only admins can do this.")))
    for name, link in effect.links:
        scope.uploads.append(Upload(name, partial(qr_png, link), caption=link, document=True))
    done = Report.of(N_("QR codes sent: {count}. Each file's caption is its link."), count=len(effect.links))
    return Event(kind=EventKind.REPORT, what="qr", system=done)
