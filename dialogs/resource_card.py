"""A resource of the directory as an admin sees and types it: its card, and checks on typed values."""

from __future__ import annotations

import re
from typing import Any

from dialogs import texts
from dialogs.engine import Turn
from dialogs.i18n import N_
from dialogs.resources import LIMITS, TEXT_LIMIT, Resource
from dialogs.texts import esc

PHONE = re.compile(r"^[0-9+()\- ,;]*$")
LINK = re.compile(r"^https?://\S+$")

FIELD_LABELS: dict[str, str] = {
    "name_ru": N_("Name (Russian)"),
    "name_en": N_("Name (English)"),
    "about_ru": N_("What it helps with (Russian)"),
    "about_en": N_("What it helps with (English)"),
    "categories": N_("Kinds of help"),
    "regions": N_("Regions"),
    "phone": N_("Phone"),
    "address": N_("Address"),
    "hours_ru": N_("Opening hours (Russian)"),
    "hours_en": N_("Opening hours (English)"),
    "link": N_("Link"),
}


def _regions_text(t: Turn[Any], resource: Resource) -> str:
    if resource.national:
        return t._(N_("all (a national line)"))
    names = []
    for code in resource.regions:
        region = t.ctx.directory.region(code)
        names.append(region.name(t.locale) if region else code)
    return ", ".join(names)


def _categories_text(t: Turn[Any], resource: Resource) -> str:
    if not resource.categories:
        return t._(N_("any"))
    return ", ".join(t._(texts.CATEGORY_NAMES[c]) for c in resource.categories)


def card(t: Turn[Any], resource: Resource) -> str:
    lines = [f"<b>{esc(resource.name_ru)}</b>"]
    for name, label in FIELD_LABELS.items():
        if name == "name_ru":
            continue
        if name == "categories":
            value = _categories_text(t, resource)
        elif name == "regions":
            value = _regions_text(t, resource)
        else:
            value = esc(getattr(resource, name)) or "—"
        lines.append(f"{t._(label)}: {value}")
    return "\n".join(lines)


def card_value(t: Turn[Any], resource: Resource, field: str) -> str:
    if field == "regions":
        return _regions_text(t, resource)
    return esc(getattr(resource, field)) or "—"


def check(t: Turn[Any], field: str, value: str) -> str | None:
    """Why a typed value is refused (in the admin's words), or None."""
    limit = LIMITS.get(field, TEXT_LIMIT)
    if field == "name_ru" and not value:
        return t._(N_("The name cannot be empty."))
    if len(value) > limit:
        return t._(N_("At most {limit} characters, please.")).format(limit=limit)
    if field == "phone" and not PHONE.match(value):
        return t._(N_("The phone may hold only digits, spaces, +, -, ( and )."))
    if field == "link" and value and not LINK.match(value):
        return t._(N_("The link must start with http:// or https://."))
    return None


def parse_regions(t: Turn[Any], value: str) -> tuple[str, ...] | None:
    codes: list[str] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        region = t.ctx.directory.region(part.lower()) or t.ctx.directory.find_region(part)
        if region is None:
            t.notice(
                t._(N_('I don\'t know the region "{name}". Nothing was changed.')).format(name=esc(part))
            )
            return None
        codes.append(region.code)
    return tuple(dict.fromkeys(codes))
