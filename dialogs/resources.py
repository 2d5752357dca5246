"""The directory of help as the dialogs see it: resources loaded by the use-case (from the database)
and given to the engine through its ``Context``. Pure: no I/O.

A resource with no regions is national (shown everywhere); with no categories it helps with any
kind of request.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from storage.vocabulary import Category

# Fields an admin edits one at a time, in the order the card shows them. Persisted in the editing
# dialog's data and used as the CSV's column names: a schema.
TEXT_FIELDS = (
    "name_ru",
    "name_en",
    "about_ru",
    "about_en",
    "phone",
    "address",
    "hours_ru",
    "hours_en",
    "link",
)
LIST_FIELDS = ("categories", "regions")
FIELDS = (*TEXT_FIELDS[:4], *LIST_FIELDS, *TEXT_FIELDS[4:])
LIMITS = {"name_ru": 200, "name_en": 200, "phone": 64, "link": 500}
TEXT_LIMIT = 1000  # any other text field
ONE_LINE = frozenset({"name_ru", "name_en", "phone", "link"})


def tidy(field: str, value: str) -> str:
    """One spelling of a value, whether typed or imported: names, phones and links on one line."""
    return " ".join(value.split()) if field in ONE_LINE else value.strip()


@dataclass(frozen=True)
class Resource:
    id: int | None
    name_ru: str
    name_en: str = ""
    about_ru: str = ""
    about_en: str = ""
    categories: tuple[Category, ...] = ()
    regions: tuple[str, ...] = ()
    phone: str = ""
    address: str = ""
    hours_ru: str = ""
    hours_en: str = ""
    link: str = ""

    def name(self, locale: str) -> str:
        return (self.name_en if locale == "en" else "") or self.name_ru

    def about(self, locale: str) -> str:
        return (self.about_en if locale == "en" else "") or self.about_ru

    def hours(self, locale: str) -> str:
        return (self.hours_en if locale == "en" else "") or self.hours_ru

    @property
    def national(self) -> bool:
        return not self.regions

    def serves(self, region: str | None, category: Category | None) -> bool:
        """Shown to a family in ``region`` asking for ``category`` (either may be unknown)."""
        in_region = self.national or (region is not None and region in self.regions)
        in_category = not self.categories or category is None or category in self.categories
        return in_region and in_category


def for_family(
    resources: tuple[Resource, ...], region: str | None, category: Category | None
) -> list[Resource]:
    """The family's own region's resources first, then the national ones (always shown)."""
    regional = [r for r in resources if not r.national and r.serves(region, category)]
    national = [r for r in resources if r.national]  # the national lines always show
    return [*regional, *national]


def family_lines(resource: Resource, locale: str) -> list[str]:
    """A resource as a family reads it (HTML, escaped): phone and name, then what, where, when, link."""
    name = html.escape(resource.name(locale), quote=False)
    phone = html.escape(resource.phone, quote=False)
    lines = [f"<b>{phone}</b> — {name}" if resource.phone else f"<b>{name}</b>"]
    details = [resource.about(locale), resource.address, resource.hours(locale)]
    lines += [f"<i>{html.escape(d, quote=False)}</i>" for d in details if d]
    if resource.link:
        lines.append(html.escape(resource.link, quote=False))
    return lines


def search(resources: tuple[Resource, ...], words: str) -> list[Resource]:
    """Resources whose names or descriptions (either language) hold every typed word."""
    wanted = _fold(words).split()
    if not wanted:
        return []
    found = []
    for r in resources:
        haystack = _fold(" ".join((r.name_ru, r.name_en, r.about_ru, r.about_en)))
        if all(w in haystack for w in wanted):
            found.append(r)
    return found


def _fold(text: str) -> str:
    return text.casefold().replace("ё", "е")
