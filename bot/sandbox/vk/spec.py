"""Checks VK API calls against the VK JSON schema in ``shared/specs/vk/`` (``<section>.methods.json``).

The VK emulator calls :func:`validate_call` for every request, so a handler that sends a parameter VK
does not know, forgets a required one or sends a value of the wrong type fails the end-to-end tests
instead of failing in production.  Values arrive form-encoded, so every value is a string: integers
and numbers must parse, booleans must be ``0``/``1``/``true``/``false`` and arrays are comma-separated.

When the schema folder is absent the schema checks are skipped and :func:`spec_available` says so;
the API version (``v`` must be :data:`API_VERSION`) is checked either way, as it needs no schema.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

API_VERSION = "5.199"
# Parameters every method accepts; they are not listed per method in the schema.
GLOBAL_PARAMS = frozenset({"access_token", "v"})
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_BOOLEANS = frozenset({"0", "1", "true", "false"})
# Used when the schema (errors.json) is absent, so error answers still read like VK's.
_FALLBACK_ERRORS = {
    1: "Unknown error occurred",
    3: "Unknown method passed",
    5: "User authorization failed",
    6: "Too many requests per second",
    8: "Invalid request",
    9: "Flood control",
    10: "Internal server error",
    14: "Captcha needed",
    15: "Access denied",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
    901: "Can't send messages for users without permission",
    909: "Can't edit this message, because it's too old",
    911: "Keyboard format is invalid",
    914: "Message is too long",
    920: "Can't edit this kind of message",
    924: "Can't delete this message for everybody",
}


def spec_dir() -> Path:
    override = os.environ.get("VK_SPEC")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[4] / "shared" / "specs" / "vk"


@cache
def _load() -> dict[str, Any] | None:
    folder = spec_dir()
    files = sorted(folder.glob("*.methods.json")) if folder.is_dir() else []
    if not files:
        return None
    methods: dict[str, dict[str, Any]] = {}
    version = None
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = version or data.get("version")
        for method in data.get("methods", []):
            methods[method["name"]] = method
    errors_path = folder / "errors.json"
    errors: dict[int, str] = {}
    if errors_path.is_file():
        for item in json.loads(errors_path.read_text(encoding="utf-8")).get("errors", {}).values():
            errors.setdefault(int(item["code"]), str(item["description"]))
    return {"methods": methods, "version": version, "errors": errors, "folder": folder}


def spec_available() -> bool:
    return _load() is not None


def spec_version() -> str | None:
    spec = _load()
    return None if spec is None else str(spec["version"])


def method_spec(method: str) -> dict[str, Any] | None:
    spec = _load()
    if spec is None:
        return None
    found: dict[str, Any] | None = spec["methods"].get(method)
    return found


def error_description(code: int) -> str:
    """VK's ``error_msg`` for an error code (from ``errors.json`` when present)."""
    spec = _load()
    known = spec["errors"].get(code) if spec else None
    return known or _FALLBACK_ERRORS.get(code, "Unknown error occurred")


def validate_call(method: str, params: dict[str, str]) -> list[str]:
    """Human-readable problems with one API call; empty when it is valid.

    Reports an unknown method, unknown or missing required parameters, values that do not parse as
    the declared type (and enum, range, length and item-count limits the schema states), and a
    missing or wrong API version.
    """
    errors: list[str] = []
    version = params.get("v")
    if version is None:
        errors.append(f"{method}: missing the API version parameter 'v'")
    elif version != API_VERSION:
        errors.append(f"{method}: API version v={version!r}, expected {API_VERSION!r}")
    if _load() is None:
        return errors
    mspec = method_spec(method)
    if mspec is None:
        return [*errors, f"unknown method {method!r}"]
    declared = {p["name"]: p for p in mspec.get("parameters", [])}
    for key, value in params.items():
        if key in GLOBAL_PARAMS:
            continue
        pspec = declared.get(key)
        if pspec is None:
            errors.append(f"{method}: unknown parameter {key!r}")
            continue
        errors.extend(f"{method}.{key}: {problem}" for problem in _check_param(value, pspec))
    errors.extend(
        f"{method}: missing required parameter {name!r}"
        for name, pspec in declared.items()
        if pspec.get("required") and params.get(name, "") == ""
    )
    return errors


def _check_param(value: str, pspec: dict[str, Any]) -> list[str]:
    if pspec.get("type") == "array":
        items = [] if value == "" else value.split(",")
        problems: list[str] = []
        max_items = pspec.get("maxItems")
        if max_items is not None and len(items) > max_items:
            problems.append(f"{len(items)} items, at most {max_items} allowed")
        item_spec = _resolved(pspec.get("items") or {"type": "string"})
        for i, item in enumerate(items):
            problems.extend(f"item {i}: {p}" for p in _check_scalar(item.strip(), item_spec))
        return problems
    return _check_scalar(value, _resolved(pspec))


def _check_scalar(value: str, spec: dict[str, Any]) -> list[str]:
    types = spec.get("type", "string")
    types = types if isinstance(types, list) else [types]
    matched = next((t for t in types if _parses(value, t)), None)
    if matched is None:
        return [f"expected {' or '.join(types)}, got {_short(value)}"]
    problems: list[str] = []
    enum = spec.get("enum")
    if enum is not None and matched == "string" and value.lower() not in {str(e).lower() for e in enum}:
        problems.append(f"{_short(value)} is not one of {_listed(enum)}")
    elif enum is not None and matched == "integer" and int(value) not in enum:
        problems.append(f"{value} is not one of {_listed(enum)}")
    if matched in ("integer", "number"):
        number = float(value)
        if "minimum" in spec and number < spec["minimum"]:
            problems.append(f"{value} is below the minimum {spec['minimum']}")
        if "maximum" in spec and number > spec["maximum"]:
            problems.append(f"{value} is above the maximum {spec['maximum']}")
    if matched == "string" and "maxLength" in spec and len(value) > spec["maxLength"]:
        problems.append(f"{len(value)} characters, at most {spec['maxLength']} allowed")
    return problems


def _parses(value: str, type_name: str) -> bool:
    if type_name == "integer":
        return _INT_RE.fullmatch(value) is not None
    if type_name == "number":
        return _FLOAT_RE.fullmatch(value) is not None
    if type_name == "boolean":
        return value in _BOOLEANS
    # "string", and "object" items that the schema only names: any text will do.
    return True


def _resolved(spec: dict[str, Any]) -> dict[str, Any]:
    """Merge a ``$ref`` target (e.g. the enum of ``users_fields``) into a parameter's own spec."""
    ref = spec.get("$ref")
    if not ref:
        return spec
    target = _follow_ref(str(ref))
    if target is None or "enum" not in target:
        # e.g. ``keyboard`` refers to an object schema but travels as a JSON string; the emulator
        # checks keyboards itself.
        return {k: v for k, v in spec.items() if k != "$ref"}
    return {**target, **{k: v for k, v in spec.items() if k != "$ref"}}


@cache
def _follow_ref(ref: str) -> dict[str, Any] | None:
    """``../users/objects.json#/definitions/users_fields`` -> that definition of users.objects.json."""
    spec = _load()
    if spec is None:
        return None
    location, _, pointer = ref.partition("#")
    parts = [p for p in location.split("/") if p not in ("", "..")]
    filename = f"{parts[0]}.{parts[1]}" if len(parts) == 2 else (parts[0] if parts else "")
    path = spec["folder"] / filename
    if not path.is_file():
        return None
    node: Any = json.loads(path.read_text(encoding="utf-8"))
    for key in (k for k in pointer.split("/") if k):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def _listed(enum: list[Any]) -> str:
    shown = ", ".join(map(str, enum[:8]))
    return f"[{shown}]" if len(enum) <= 8 else f"the {len(enum)} values [{shown}, ...]"


def _short(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
