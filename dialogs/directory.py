"""Data the dialogs show: regions and useful contacts, from files shipped with the code.

``load_directory`` reads files and is called once by the composition root; the engine only
receives the loaded ``Directory``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Region:
    code: str
    names: dict[str, str]
    line: str | None = None
    tz: str = "Europe/Moscow"
    aliases: tuple[str, ...] = ()

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names["ru"]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


@dataclass(frozen=True)
class UsefulContact:
    phone: str
    names: dict[str, str]
    notes: dict[str, str]

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names["ru"]

    def note(self, locale: str) -> str:
        return self.notes.get(locale) or self.notes.get("ru", "")


@dataclass(frozen=True)
class Directory:
    regions: tuple[Region, ...]
    contacts: tuple[UsefulContact, ...]

    def region(self, code: str | None) -> Region | None:
        return next((r for r in self.regions if r.code == code), None)

    def find_region(self, text: str) -> Region | None:
        """A typed region name that matches a known one (any language, any case).

        With all 89 subjects, people type "Приморье", "Владимирская обл." or "tula": the full name
        matches first, then the name without its generic words, then a stem that only one region
        starts with (never a guess between two).
        """
        wanted = _normal(text)
        if not wanted:
            return None
        for region in self.regions:
            if any(wanted == _normal(n) for n in (*region.names.values(), *region.aliases)):
                return region
        core = _core(wanted)
        if not core:
            return None
        exact = [r for r in self.regions if any(core == _core(_normal(n)) for n in r.names.values())]
        if len(exact) == 1:
            return exact[0]
        stem = core[: max(4, len(core) - 2)]
        if len(stem) < 4:
            return None
        found = [r for r in self.regions if any(_core(_normal(n)).startswith(stem) for n in r.names.values())]
        return found[0] if len(found) == 1 else None


# Generic words of subjects' names: "Тульская область" is found by "тульская" or "тула".
_GENERIC = re.compile(
    r"\b(республика|респ|область|обл|край|автономный|автономная|округ|ао|город|г|"
    r"oblast|krai|republic|autonomous|okrug|region|city|of|the)\b\.?"
)


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").split())


def _core(name: str) -> str:
    return " ".join(_GENERIC.sub(" ", name.replace("—", " ").replace("-", " ")).replace(".", " ").split())


_CODE = re.compile(r"[a-z0-9_-]{1,32}")


def read_regions(path: Path) -> tuple[Region, ...]:
    """A region list in the format of ``data/regions.json``; ValueError names what is wrong (and
    which entry), so a region's own file stops the start with one clear line."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r} ({exc.strerror or type(exc).__name__})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is not UTF-8 JSON ({exc})") from None
    entries = raw.get("regions") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{str(path)!r} has no list "regions" (see dialogs/data/regions.json)')
    regions: list[Region] = []
    for number, entry in enumerate(entries, start=1):
        regions.append(_region(entry, f"region {number}"))
    codes = [r.code for r in regions]
    if len(set(codes)) != len(codes):
        twice = sorted({c for c in codes if codes.count(c) > 1})
        raise ValueError(f"region code {twice[0]!r} is given twice")
    return tuple(regions)


def _region(entry: object, where: str) -> Region:
    if not isinstance(entry, dict):
        raise ValueError(f"{where} is not an object")
    code = entry.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValueError(f"{where}: code {code!r} must be 1-32 of a-z, 0-9, _ and -")
    for key in ("ru", "en"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ValueError(f"{where} ({code}): {key!r}, the name in that language, is missing")
    tz = entry.get("tz")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{where} ({code}): tz {tz!r} is not a time zone like Europe/Moscow") from None
    line, aliases = entry.get("line"), entry.get("aliases", [])
    if line is not None and not isinstance(line, str):
        raise ValueError(f"{where} ({code}): line must be text or null")
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ValueError(f"{where} ({code}): aliases must be a list of names")
    return Region(
        code=code,
        names={"ru": entry["ru"].strip(), "en": entry["en"].strip()},
        line=line or None,
        tz=str(tz),
        aliases=tuple(aliases),
    )


def load_directory(data_dir: Path = DATA_DIR, *, regions_file: Path | None = None) -> Directory:
    """The regions (the shipped list, or a region's own ``REGIONS_FILE``) and the national lines."""
    regions = read_regions(regions_file or data_dir / "regions.json")
    contacts_raw = json.loads((data_dir / "contacts.json").read_text(encoding="utf-8"))["contacts"]
    contacts = tuple(
        UsefulContact(phone=c["phone"], names={"ru": c["ru"], "en": c["en"]}, notes=dict(c.get("hours", {})))
        for c in contacts_raw
    )
    return Directory(regions=regions, contacts=contacts)
