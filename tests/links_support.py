"""Reading back the QR codes the bot sends: a small PNG decoder (zlib and the five PNG filters; the
images ``segno`` writes: greyscale or palette, 1 to 8 bits) and zxing-cpp to read the code."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import zxingcpp

from storage.uow import Database

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def greyscale(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and one byte a pixel (0 black, 255 white)."""
    assert png[:8] == PNG_SIGNATURE, "not a PNG"
    pos, idat, palette = 8, b"", b""
    width = height = depth = 0
    while pos < len(png):
        size, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + size]
        assert zlib.crc32(kind + body) == struct.unpack(">I", png[pos + 8 + size : pos + 12 + size])[0]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert colour in (0, 3), f"colour type {colour}"
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat += body
    raw, stride = zlib.decompress(idat), (width * depth + 7) // 8
    pixels, previous, i = bytearray(), bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a, b, c = (line[x - 1] if x else 0), previous[x], (previous[x - 1] if x else 0)
            line[x] = (line[x] + _predict(kind, a, b, c)) & 0xFF
        previous = line
        for x in range(width):
            bit = x * depth
            value = (line[bit // 8] >> (8 - depth - bit % 8)) & ((1 << depth) - 1)
            pixels.append(palette[3 * value] if palette else value * 255 // ((1 << depth) - 1))
    return width, height, bytes(pixels)


def _predict(kind: int, a: int, b: int, c: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return a
    if kind == 2:
        return b
    if kind == 3:
        return (a + b) // 2
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def read_qr(png: bytes) -> list[str]:
    """The texts of the QR codes in a PNG, as a phone's camera would read them."""
    width, height, pixels = greyscale(png)
    return [found.text for found in zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))]


async def dialog_of(db: Database, key: str) -> tuple[str, dict[str, Any]]:
    async with db.uow() as uow:
        stored = await uow.dialogs.load(key)
    assert stored is not None, f"no dialog for {key}"
    return stored
