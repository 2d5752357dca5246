"""Data the dialogs show: regions and useful contacts, from files shipped with the code.

``load_directory`` reads files and is called once by the composition root; the engine only
receives the loaded ``Directory``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Region:
    code: str
    names: dict[str, str]
    line: str | None = None

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names["ru"]


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
        """A typed region name that matches a known one (any language, any case)."""
        wanted = " ".join(text.lower().replace("ё", "е").split())
        for region in self.regions:
            if any(wanted == n.lower().replace("ё", "е") for n in region.names.values()):
                return region
        return None


def load_directory(data_dir: Path = DATA_DIR) -> Directory:
    regions_raw = json.loads((data_dir / "regions.json").read_text(encoding="utf-8"))["regions"]
    contacts_raw = json.loads((data_dir / "contacts.json").read_text(encoding="utf-8"))["contacts"]
    regions = tuple(
        Region(code=r["code"], names={"ru": r["ru"], "en": r["en"]}, line=r.get("line")) for r in regions_raw
    )
    contacts = tuple(
        UsefulContact(phone=c["phone"], names={"ru": c["ru"], "en": c["en"]}, notes=dict(c.get("hours", {})))
        for c in contacts_raw
    )
    return Directory(regions=regions, contacts=contacts)
