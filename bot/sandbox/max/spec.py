"""Checks a request to the MAX emulator against ../shared/specs/max/openapi.json (the MAX Bot API).

Method and path (a template of the spec), query parameters (known, required ones present, basic
types), and the JSON body (required fields, unknown fields, types, string lengths, the kinds of
attachments and buttons through the spec's discriminators).
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

# ../shared/specs next to the checkout, as for the Telegram and VK emulators (absent in an install:
# the checks are skipped and spec_available() says so).
ROOT = Path(__file__).resolve().parents[3]
SPEC = Path(os.environ.get("MAX_SPEC", ROOT.parent / "shared" / "specs" / "max" / "openapi.json"))


def spec_available() -> bool:
    return SPEC.is_file()


@cache
def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    return data


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its $ref and allOf merged into one set of properties and required fields."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(_spec()["components"]["schemas"][name])
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k not in {"allOf", "properties", "required"}}
    props: dict[str, Any] = {}
    required: list[str] = []
    for part in schema.get("allOf", []):
        sub = _resolve(part)
        props.update(sub.get("properties", {}))
        required += sub.get("required", [])
        for key in ("type", "discriminator", "enum", "nullable"):
            if key in sub and key not in merged:
                merged[key] = sub[key]
    props.update(schema.get("properties", {}))
    required += schema.get("required", [])
    if props:
        merged["properties"] = props
    merged["required"] = required
    return merged


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    paths = _spec()["paths"]
    matches = []
    for template, ops in paths.items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            matches.append((template.count("{"), template, ops[method.lower()]))
    if not matches:
        return None
    _, template, op = min(matches, key=lambda m: m[0])  # a literal path wins over a template
    return template, op


def check_request(method: str, path: str, query: dict[str, str], body: Any) -> list[str]:
    found = find_operation(method, path)
    if found is None:
        return [f"{method} {path}: no such operation in the spec"]
    template, op = found
    errors: list[str] = []
    params = {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}
    for name, value in query.items():
        if name not in params:
            errors.append(f"{method} {template}: unknown query parameter {name!r}")
            continue
        schema = _resolve(params[name].get("schema", {}))
        kind = schema.get("type")
        if kind == "integer" and not re.fullmatch(r"-?\d+", value):
            errors.append(f"{method} {template}: {name}={value!r} is not an integer")
        if kind == "boolean" and value not in {"true", "false"}:
            errors.append(f"{method} {template}: {name}={value!r} is not a boolean")
        if kind == "string" and len(value) < schema.get("minLength", 0):
            errors.append(f"{method} {template}: {name} is too short")
    for name, param in params.items():
        if param.get("required") and name not in query:
            errors.append(f"{method} {template}: missing query parameter {name!r}")
    content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    if content is None:
        if body is not None:
            errors.append(f"{method} {template}: takes no body")
    elif body is None:
        errors.append(f"{method} {template}: body missing")
    else:
        errors += _check(content["schema"], body, f"{method} {template} body")
    return errors


def _check(schema_ref: dict[str, Any], value: Any, where: str) -> list[str]:
    schema = _resolve(schema_ref)
    if value is None:
        return [] if schema.get("nullable") or schema_ref.get("nullable") else [f"{where}: null not allowed"]
    disc = schema.get("discriminator")
    if disc and isinstance(value, dict):
        kind = value.get(disc["propertyName"])
        target = disc.get("mapping", {}).get(kind)
        if target is None:
            return [f"{where}: unknown {disc['propertyName']} {kind!r}"]
        ref = target["$ref"] if isinstance(target, dict) else target
        schema = _resolve({"$ref": ref})
    kind = schema.get("type")
    errors: list[str] = []
    if "properties" in schema or kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing {name!r}")
        for name, item in value.items():
            if props and name not in props:
                errors.append(f"{where}: unknown field {name!r}")
            elif name in props:
                errors += _check(props[name], item, f"{where}.{name}")
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array"]
        for i, item in enumerate(value):
            errors += _check(schema.get("items", {}), item, f"{where}[{i}]")
        return errors
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        if len(value) > schema.get("maxLength", 10**9) or len(value) < schema.get("minLength", 0):
            return [f"{where}: length {len(value)} out of range"]
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return [f"{where}: {value!r} does not match {schema['pattern']}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} not one of {schema['enum']}"]
    if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return [f"{where}: expected an integer"]
    if kind == "boolean" and not isinstance(value, bool):
        return [f"{where}: expected a boolean"]
    return errors
