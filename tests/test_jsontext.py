"""JSON written by orjson (storage/jsontext.py): read back as the standard library's would be, and
never a failed turn where the standard library would have written it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import jsontext
from storage.uow import Database


@dataclass
class Kept:
    n: int


# What dialogs keep: text (Cyrillic, emoji, control characters, half an emoji), numbers, flags, lists
# and objects.
texts = st.text(st.characters(exclude_categories=()))  # lone surrogates too, which st.text() leaves out
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8) | texts, inner, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_what_is_written_reads_back_as_the_standard_library_writes_it(value: Any) -> None:
    assert json.loads(jsontext.dumps(value)) == json.loads(json.dumps(value))
    assert json.loads(jsontext.dumps_bytes(value)) == json.loads(json.dumps(value))


def test_a_number_json_has_no_words_for_is_null() -> None:
    """The standard library wrote ``Infinity`` and ``NaN``, which are not JSON (PostgreSQL's json type
    refuses them); no dialog keeps a fraction, and none can become one of these."""
    assert json.loads(jsontext.dumps({"a": float("inf"), "b": float("nan")})) == {"a": None, "b": None}


def test_text_is_written_as_it_is() -> None:
    """UTF-8, not \\u escapes: a screen of Cyrillic stays its size in a request body."""
    assert jsontext.dumps_bytes({"text": "Здравствуйте 🆘"}) == '{"text":"Здравствуйте 🆘"}'.encode()


@pytest.mark.parametrize(
    "value",
    [
        {"children": 10**30},  # a number beyond 64 bits: orjson refuses it
        {1: "a", None: "b"},  # keys that are not text: written as json.dumps writes them
        [2**64, {"n": -(2**63) - 1}],
        {"text": "помогите \ud83d"},  # half an emoji: not UTF-8, so orjson refuses it
    ],
)
def test_what_orjson_refuses_is_written_by_the_standard_library(value: Any) -> None:
    assert json.loads(jsontext.dumps(value)) == json.loads(json.dumps(value))
    assert json.loads(jsontext.dumps_bytes(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize("value", [datetime.now(UTC), Kept(1)])
def test_what_the_standard_library_refused_is_still_refused(value: Any) -> None:
    """orjson would write these silently, and they would come back as text or a dict."""
    with pytest.raises(TypeError):
        jsontext.dumps({"at": value})


async def test_a_dialog_state_orjson_refuses_is_still_kept(db: Database) -> None:
    """Through the engine's JSON columns: a number a parent typed, too big for orjson, or a text with
    half an emoji, fails no turn."""
    data = {"answers": {"phone": 10**25, "name": "Мария \ud83d"}, "page": 0}
    async with db.uow() as uow:
        await uow.dialogs.save("tg:1", "family.ask", data)
    async with db.uow() as uow:
        assert await uow.dialogs.load("tg:1") == ("family.ask", data)
