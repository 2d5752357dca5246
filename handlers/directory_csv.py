"""The directory of help as a CSV file: written for an export, read and checked for an import.

Pure (bytes in, rows or errors out): the use-case reads the file through the Messenger port and
writes the rows in one transaction. Column names are the resource's field names (a schema); lists
(categories, regions) are codes separated by ``;``. Excel's "CSV UTF-8" and its ``;`` separator
(the Russian default) are both read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialogs.i18n import N_
from dialogs.resources import FIELDS, LIMITS, LIST_FIELDS, TEXT_LIMIT, Resource, tidy
from storage.vocabulary import Category

MAX_BYTES = 1_000_000  # a directory of a few thousand entries is far smaller
MAX_ROWS = 5000
PHONE = re.compile(r"^[0-9+()\- ,;]*$")
LINK = re.compile(r"^(https?://\S+|)$")


@dataclass(frozen=True)
class RowError:
    """A reason a file is refused: ``message`` is a gettext msgid, ``params`` fill it."""

    line: int
    message: str
    params: dict[str, str | int] = field(default_factory=dict)


@dataclass
class Parsed:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def dump(resources: Sequence[Resource]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for r in resources:
        row = []
        for name in FIELDS:
            value = getattr(r, name)
            row.append(";".join(str(v) for v in value) if name in LIST_FIELDS else value)
        writer.writerow(row)
    # With the BOM, Excel opens it as UTF-8 (Cyrillic intact).
    return out.getvalue().encode("utf-8-sig")


def parse(content: bytes, regions: Collection[str]) -> Parsed:
    """Every row checked; ``rows`` is meaningful only when ``errors`` is empty."""
    result = Parsed()
    if len(content) > MAX_BYTES:
        result.errors.append(
            RowError(0, N_("The file is too big: at most {limit} KB."), {"limit": MAX_BYTES // 1000})
        )
        return result
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        result.errors.append(
            RowError(line, N_('This is not UTF-8 text. Save the table as "CSV UTF-8" and send it again.'))
        )
        return result
    if "\x00" in text:
        result.errors.append(RowError(0, N_("This does not look like a CSV table.")))
        return result
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        result.errors.append(RowError(1, N_("The file is empty.")))
        return result
    except csv.Error:
        result.errors.append(RowError(1, N_("This does not look like a CSV table.")))
        return result
    unknown = [h for h in header if h not in FIELDS]
    if unknown or "name_ru" not in header or len(set(header)) != len(header):
        result.errors.append(
            RowError(
                1,
                N_("The first line must name the columns; allowed: {allowed} (name_ru is required)."),
                {"allowed": ", ".join(FIELDS)},
            )
        )
        return result
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines are allowed
            if len(result.rows) >= MAX_ROWS:
                result.errors.append(
                    RowError(line, N_("Too many rows: at most {limit}."), {"limit": MAX_ROWS})
                )
                break
            if len(values) != len(header):
                result.errors.append(
                    RowError(
                        line,
                        N_("{found} columns instead of {expected}."),
                        {"found": len(values), "expected": len(header)},
                    )
                )
                continue
            row, errors = _row(dict(zip(header, values, strict=True)), line, regions)
            result.errors += errors
            if not errors:
                result.rows.append(row)
    except csv.Error:
        result.errors.append(
            RowError(reader.line_num, N_("This line is not valid CSV (a quote left open?)."))
        )
    if not result.rows and not result.errors:
        result.errors.append(RowError(2, N_("The file has no resources.")))
    return result


def _row(raw: dict[str, str], line: int, regions: Collection[str]) -> tuple[dict[str, Any], list[RowError]]:
    errors: list[RowError] = []
    row: dict[str, Any] = {}
    for name in FIELDS:
        value = tidy(name, raw.get(name, ""))
        if name in LIST_FIELDS:
            codes = [c.strip().lower() for c in value.replace(",", ";").split(";") if c.strip()]
            known = {c.value for c in Category} if name == "categories" else set(regions)
            bad = [c for c in codes if c not in known]
            if bad:
                errors.append(
                    RowError(
                        line,
                        N_("Unknown codes in {column}: {codes}."),
                        {"column": name, "codes": ", ".join(bad)},
                    )
                )
            row[name] = list(dict.fromkeys(codes))
            continue
        limit = LIMITS.get(name, TEXT_LIMIT)
        if len(value) > limit:
            errors.append(
                RowError(
                    line, N_("{column} is longer than {limit} characters."), {"column": name, "limit": limit}
                )
            )
        elif name == "phone" and not PHONE.match(value):
            errors.append(RowError(line, N_("The phone may hold only digits, spaces, +, -, ( and ).")))
        elif name == "link" and not LINK.match(value):
            errors.append(RowError(line, N_("The link must start with http:// or https://.")))
        row[name] = value
    if not row["name_ru"]:
        errors.append(RowError(line, N_("The name (name_ru) is empty.")))
    return row, errors


def resource_values(resource: Resource) -> dict[str, Any]:
    """A resource as the repository's column values."""
    return {
        name: list(getattr(resource, name)) if name in LIST_FIELDS else getattr(resource, name)
        for name in FIELDS
    }
