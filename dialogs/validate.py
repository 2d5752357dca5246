"""Pure parsing and validation of what a parent types."""

from __future__ import annotations

import re
import unicodedata

SOS_WORDS = frozenset({"sos", "сос", "срочно", "помогите", "help", "911", "112", "🆘"})

_INVISIBLE = dict.fromkeys(
    cp for cp in range(0x110000) if unicodedata.category(chr(cp)) in {"Cf", "Cc"} and chr(cp) not in "\n\t"
)


def clean_text(text: str) -> str:
    """Strip control and zero-width characters and outer whitespace; keep line breaks."""
    return text.translate(_INVISIBLE).strip()


def is_sos(text: str) -> bool:
    """One word (or /sos) that asks for emergency numbers, whatever the step."""
    words = re.sub(r"[^\w🆘]+", " ", clean_text(text).lower()).split()
    return bool(words) and len(words) <= 2 and all(w in SOS_WORDS for w in words)


def normalise_phone(text: str) -> str | None:
    """A Russian or international phone number as +<digits>, or None when it cannot be one."""
    raw = clean_text(text)
    if not raw or re.search(r"[^\d\s()+\-.]", raw):
        return None
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        if digits.startswith("7") and len(digits) != 11:
            return None
        return f"+{digits}" if 10 <= len(digits) <= 15 else None
    if len(digits) == 11 and digits[0] in "78":
        return f"+7{digits[1:]}"
    if len(digits) == 10 and digits[0] == "9":
        return f"+7{digits}"
    return None


_NUMBER = re.compile(r"[0-9]{1,9}")


def as_int(text: str) -> int | None:
    """ASCII digits only: "²".isdigit() is true, but int("²") raises."""
    return int(text) if _NUMBER.fullmatch(text) else None


def contact_phone(raw: str) -> str | None:
    """A number from a shared contact: platforms often send international numbers without the +."""
    return normalise_phone(raw) or normalise_phone("+" + raw.lstrip("+"))


def parse_ages(text: str) -> list[int] | None:
    """Ages typed as "2, 5, 11" (0 for babies under one); None when the text is not a list of ages."""
    raw = clean_text(text).lower().replace("<1", "0")
    parts = [p for p in re.split(r"[\s,;и/]+|and", raw) if p]
    if not parts or len(parts) > 20:
        return None
    ages: list[int] = []
    for part in parts:
        age = as_int(part)
        if age is None or age > 17:
            return None
        ages.append(age)
    return ages


def parse_count(text: str) -> int | None:
    value = as_int(clean_text(text))
    return value if value is not None and value <= 20 else None
