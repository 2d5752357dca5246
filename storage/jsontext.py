"""JSON text as the database keeps it and the Bot API is sent it: written by orjson, in C.

Every turn writes a dialog's state and its answer (each a couple of kilobytes of mostly Cyrillic text)
and the update as Telegram sent it, and sends a screen as a JSON body: the standard library's encoder
was 5-7% of the bot's CPU in a burst of families pressing /start (py-spy during `python -m bench.burst`).

What orjson writes reads back the same with ``json.loads``. Where it refuses a value, the standard
library writes it as it always did (``json.dumps``, non-ASCII escaped): an integer beyond 64 bits, a key
that is not text, a text with half an emoji (a lone surrogate, which is not UTF-8). A turn must never
fail for the way its data is written. A datetime or a dataclass is refused by both, as before: orjson
would write one silently, and it would come back as text or a dict. A number JSON has no words for
(infinity, NaN) is written as null, where the standard library wrote ``Infinity``, which is not JSON
and which PostgreSQL's json type refuses; no dialog keeps a fraction.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

OPTIONS = (
    orjson.OPT_NON_STR_KEYS  # {1: ...} becomes {"1": ...}, as json.dumps writes it
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps_bytes(value: Any) -> bytes:
    """UTF-8 JSON: non-ASCII text as it is, not escaped, where orjson writes it."""
    try:
        return orjson.dumps(value, option=OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()
