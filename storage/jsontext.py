"""JSON text as the database keeps it and the Bot API is sent it: written by orjson, in C.

Every turn writes a dialog's state and its answer (each a couple of kilobytes of mostly Cyrillic text)
and the update as Telegram sent it, and sends a screen as a JSON body: the standard library's encoder
was 5-7% of the bot's CPU in a burst of families pressing /start (py-spy during `python -m bench.burst`).

What orjson writes reads back the same with ``json.loads``. Where it refuses a value the standard library
takes (an integer beyond 64 bits, a key that is not text), the standard library writes it: a turn must
never fail for the way its data is written. A number JSON has no words for (infinity, NaN) is written
as null, where the standard library wrote ``Infinity``, which is not JSON and which PostgreSQL's json
type refuses; no dialog keeps a fraction.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: ...} becomes {"1": ...}, as json.dumps writes it


def dumps_bytes(value: Any) -> bytes:
    """UTF-8 JSON (non-ASCII text as it is, not escaped)."""
    try:
        return orjson.dumps(value, option=OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False).encode()


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()
