"""Files in the sandbox: a sample picture for a pane's photo, and serving stored bytes to the page.

The local servers keep every file's bytes (what the bot uploaded, what a pane's person sent); the
page shows them from ``/files/<platform>/<key>``. A person's file may be anything, so only pictures
are shown inline; everything else is served as a download, never as a page of this origin.
"""

from __future__ import annotations

import mimetypes
import struct
import zlib
from urllib.parse import quote

from aiohttp import web

# Magic numbers of the pictures a browser shows in <img>; anything else is a document.
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
UPLOAD_LIMIT = 20 * 1024 * 1024  # what the bot may download from Telegram; the page's files stay under it


def image_type(data: bytes) -> str | None:
    """The picture's MIME type by its first bytes, or None if a browser would not show it."""
    for magic, mime in _IMAGES:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sample_photo(width: int = 320, height: int = 240, seed: int = 0) -> bytes:
    """A small real PNG (a sky, a sun, a meadow), for a photo sent without a picture chosen."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    sun_x, sun_y, radius = width * (0.25 + 0.15 * (seed % 4)), height * 0.3, max(4, height // 8)
    horizon = height * 2 // 3
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # no filter
        for x in range(width):
            if (x - sun_x) ** 2 + (y - sun_y) ** 2 <= radius**2:
                pixel = (255, 214, 90)
            elif y < horizon:
                pixel = (110 + 100 * y // horizon, 170 + 60 * y // horizon, 235)
            else:
                pixel = (70, 150 + 40 * (y - horizon) // (height - horizon), 80)
            rows += bytes(pixel)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def file_response(data: bytes, name: str) -> web.Response:
    """Stored bytes for the page: a picture inline, anything else as a download named ``name``."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        # Even a file a person uploaded as HTML cannot run as a page of the sandbox's origin.
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600",
    }
    mime = image_type(data)
    if mime is None:
        mime = "application/octet-stream"
        guessed = mimetypes.guess_type(name)[0]
        if guessed and not guessed.startswith(("text/html", "image/svg", "application/xhtml")):
            mime = guessed
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name or 'file')}"
    return web.Response(body=data, content_type=mime, headers=headers)
