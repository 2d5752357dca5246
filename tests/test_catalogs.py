"""Catalogs: complete in Russian and English, placeholders and markup kept, plurals right."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from dialogs.i18n import SUPPORTED_LOCALES
from locales.build import extract, po_path, problems

PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z]+")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_complete(locale: str) -> None:
    assert problems(locale) == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_covers_the_code(locale: str) -> None:
    with po_path(locale).open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    in_code = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert in_code - in_catalog == set(), "run: python -m locales.build --update"


def ids(message: Message) -> list[str]:
    return [str(i) for i in message.id] if isinstance(message.id, tuple | list) else [str(message.id)]


def strings(message: Message) -> list[str]:
    value = message.string
    return [str(v) for v in value] if isinstance(value, tuple | list) else [str(value or "")]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_placeholders_and_markup_survive_translation(locale: str) -> None:
    with po_path(locale).open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    for message in catalog:
        if not message.id:
            continue
        source = " ".join(ids(message))
        for target in strings(message):
            assert set(PLACEHOLDER.findall(target)) <= set(PLACEHOLDER.findall(source)), message.id
            assert sorted(TAG.findall(target)) == sorted(TAG.findall(ids(message)[0])), message.id


def test_russian_has_three_plural_forms() -> None:
    with po_path("ru").open("rb") as fp:
        catalog = read_po(fp, locale="ru")
    assert catalog.num_plurals == 3
    plurals = [m for m in catalog if isinstance(m.id, tuple)]
    assert plurals
    assert all(len(strings(m)) == 3 and all(strings(m)) for m in plurals)
