"""Data the dialogs show: regions and useful contacts, from files shipped with the code.

``load_directory`` reads files and is called once by the composition root; the engine only
receives the loaded ``Directory``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

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


def load_directory(data_dir: Path = DATA_DIR) -> Directory:
    regions_raw = json.loads((data_dir / "regions.json").read_text(encoding="utf-8"))["regions"]
    contacts_raw = json.loads((data_dir / "contacts.json").read_text(encoding="utf-8"))["contacts"]
    regions = tuple(
        Region(
            code=r["code"],
            names={"ru": r["ru"], "en": r["en"]},
            line=r.get("line"),
            tz=r["tz"],
            aliases=tuple(r.get("aliases", ())),
        )
        for r in regions_raw
    )
    contacts = tuple(
        UsefulContact(phone=c["phone"], names={"ru": c["ru"], "en": c["en"]}, notes=dict(c.get("hours", {})))
        for c in contacts_raw
    )
    return Directory(regions=regions, contacts=contacts)
