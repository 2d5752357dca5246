"""Checks Bot API requests against the machine-readable spec in ``shared/specs/telegram/api.json``.

The emulator calls :func:`validate_request` for every request, so a handler that sends a parameter
Telegram does not know, or forgets a required one, fails the end-to-end tests instead of failing in
production.  When the spec file is absent the checks are skipped and :func:`spec_available` says so.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

_ARRAY = "Array of "
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_ATTACH = "attach://"
# How deep a union may nest before we stop trying alternatives; the spec has no deeper real nesting
# and the cap keeps a malicious/buggy payload from exploding the search.
_MAX_DEPTH = 12


@dataclass(frozen=True)
class UploadedFile:
    """A multipart part that carried a file (aiogram references it as ``attach://<name>``)."""

    name: str
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def spec_path() -> Path:
    override = os.environ.get("TELEGRAM_SPEC")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[4] / "shared" / "specs" / "telegram" / "api.json"


@cache
def _load() -> dict[str, Any] | None:
    path = spec_path()
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    # Bot API method names are case-insensitive, so index them lower-cased once.
    data["_methods_lc"] = {name.lower(): spec for name, spec in data["methods"].items()}
    return data


def spec_available() -> bool:
    return _load() is not None


def spec_version() -> str | None:
    spec = _load()
    return None if spec is None else str(spec.get("version"))


def method_spec(method: str) -> dict[str, Any] | None:
    spec = _load()
    if spec is None:
        return None
    found: dict[str, Any] | None = spec["_methods_lc"].get(method.lower())
    return found


def canonical_method(method: str) -> str:
    """The spec's spelling of a method name (``SENDMESSAGE`` -> ``sendMessage``)."""
    found = method_spec(method)
    return method if found is None else str(found["name"])


def validate_request(method: str, params: dict[str, Any]) -> list[str]:
    """Return human-readable problems with one request; empty when it is valid or no spec exists."""
    spec = _load()
    if spec is None:
        return []
    mspec = method_spec(method)
    if mspec is None:
        return [f"unknown method {method!r}"]
    name = mspec["name"]
    fields = {f["name"]: f for f in mspec.get("fields", [])}
    attach_refs = _attach_refs(params)
    errors: list[str] = []
    for key, value in params.items():
        field = fields.get(key)
        if field is None:
            # aiogram uploads files as extra parts referenced by attach://<part name>.
            if isinstance(value, UploadedFile) and key in attach_refs:
                continue
            errors.append(f"{name}: unknown parameter {key!r}")
            continue
        if value is None:
            continue
        errors.extend(_check_union(value, field["types"], f"{name}.{key}", 0))
    for field in fields.values():
        if field["required"] and params.get(field["name"]) in (None, ""):
            errors.append(f"{name}: missing required parameter {field['name']!r}")
    # Checked here rather than per field: the spec types InputMedia*.media as a plain String.
    errors.extend(
        f"{name}: '{_ATTACH}{ref}' references no uploaded file part"
        for ref in sorted(attach_refs)
        if not isinstance(params.get(ref), UploadedFile)
    )
    return errors


def _attach_refs(params: dict[str, Any]) -> set[str]:
    refs: set[str] = set()
    for value in params.values():
        text = value if isinstance(value, str) else None
        if text is None and isinstance(value, dict | list):
            text = json.dumps(value)
        if text:
            refs.update(re.findall(r"attach://([\w\-]+)", text))
    return refs


def _check_union(value: Any, types: list[str], where: str, depth: int) -> list[str]:
    # The spec lists e.g. "Array of InputMediaPhoto" and "Array of InputMediaVideo" as separate
    # alternatives, but Telegram accepts an album mixing them; so merge array alternatives.
    if len(types) > 1 and all(t.startswith(_ARRAY) for t in types):
        inner = [t[len(_ARRAY) :] for t in types]
        items = _as_json(value, list)
        if not isinstance(items, list):
            return [f"{where}: expected a JSON array, got {_short(value)}"]
        errors: list[str] = []
        for i, item in enumerate(items):
            errors.extend(_check_union(item, inner, f"{where}[{i}]", depth + 1))
        return errors
    best: list[str] | None = None
    for type_name in types:
        errors = _check_type(value, type_name, where, depth)
        if not errors:
            return []
        if best is None or len(errors) < len(best):
            best = errors
    assert best is not None
    if len(types) == 1:
        return best
    return [f"{where}: matches none of {' | '.join(types)}; closest: {'; '.join(best)}"]


def _check_type(value: Any, type_name: str, where: str, depth: int) -> list[str]:
    if depth > _MAX_DEPTH:
        return [f"{where}: nested too deep"]
    if type_name.startswith(_ARRAY):
        items = _as_json(value, list)
        if not isinstance(items, list):
            return [f"{where}: expected a JSON array of {type_name[len(_ARRAY) :]}, got {_short(value)}"]
        errors: list[str] = []
        inner = type_name[len(_ARRAY) :]
        for i, item in enumerate(items):
            errors.extend(_check_type(item, inner, f"{where}[{i}]", depth + 1))
        return errors
    scalar = _check_scalar(value, type_name, where)
    if scalar is not None:
        return scalar
    return _check_object(value, type_name, where, depth)


def _check_scalar(value: Any, type_name: str, where: str) -> list[str] | None:
    """Errors for a scalar type, or None when ``type_name`` is not a scalar."""
    ok: bool
    if type_name == "Integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and _INT_RE.fullmatch(value) is not None
        )
    elif type_name == "Float":
        ok = (isinstance(value, int | float) and not isinstance(value, bool)) or (
            isinstance(value, str) and _FLOAT_RE.fullmatch(value) is not None
        )
    elif type_name == "Boolean":
        ok = isinstance(value, bool) or value in ("true", "false", "True", "False")
    elif type_name == "String":
        ok = isinstance(value, str)
    elif type_name == "InputFile":
        ok = isinstance(value, UploadedFile | str)
    else:
        return None
    return [] if ok else [f"{where}: expected {type_name}, got {_short(value)}"]


def _check_object(value: Any, type_name: str, where: str, depth: int) -> list[str]:
    spec = _load()
    assert spec is not None
    tspec = spec["types"].get(type_name)
    if tspec is None:
        return [f"{where}: spec has no type {type_name!r}"]
    obj = _as_json(value, dict)
    if not isinstance(obj, dict):
        return [f"{where}: expected a {type_name} object, got {_short(value)}"]
    subtypes: list[str] | None = tspec.get("subtypes")
    if subtypes:
        return _check_union(obj, subtypes, where, depth + 1)
    fields = {f["name"]: f for f in tspec.get("fields", [])}
    errors: list[str] = []
    for key, item in obj.items():
        field = fields.get(key)
        if field is None:
            errors.append(f"{where}: unknown field {key!r} for {type_name}")
        elif item is not None:
            errors.extend(_check_union(item, field["types"], f"{where}.{key}", depth + 1))
    for field in fields.values():
        if field["required"] and obj.get(field["name"]) is None:
            errors.append(f"{where}: {type_name} lacks required field {field['name']!r}")
    return errors


def _as_json(value: Any, kind: type) -> Any:
    """Form data carries complex values as JSON strings; decode them when they hold ``kind``."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, kind) else value
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Fallbacks for decoding form fields when no spec is available.
_JSON_KEYS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "media",
        "message_ids",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
        "permissions",
    }
)
_BOOL_KEYS = frozenset(
    {
        "protect_content",
        "disable_notification",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
    }
)
_INT_KEYS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "until_date",
    }
)


def decode_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Turn form-data strings into the Python values they stand for (ints, bools, JSON).

    Uses the spec's field types when present; otherwise a small list of well-known keys.  Values
    that do not decode are kept as sent, so validation errors stay visible in recorded calls.
    """
    mspec = method_spec(method)
    fields = {f["name"]: f["types"] for f in mspec.get("fields", [])} if mspec else {}
    decoded: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(value, str):
            decoded[key] = value
            continue
        types = fields.get(key)
        if types is None:
            types = (
                ["Array of Object"]
                if key in _JSON_KEYS
                else ["Integer"]
                if key in _INT_KEYS
                else ["Boolean"]
                if key in _BOOL_KEYS
                else []
            )
        decoded[key] = _decode_scalar(value, types)
    return decoded


def _decode_scalar(value: str, types: list[str]) -> Any:
    if "Integer" in types and _INT_RE.fullmatch(value):
        return int(value)
    if "Float" in types and _FLOAT_RE.fullmatch(value):
        return float(value)
    if "Boolean" in types and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if "String" in types or "InputFile" in types:
        return value
    if types:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
