"""Catalog workflow.

python -m locales.build            compile every .po into .mo (install, tests, Docker)
python -m locales.build --update   extract messages.pot from the code and merge it into the .po files
python -m locales.build --check    fail when a catalog misses a translation or is fuzzy
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from dialogs.i18n import SUPPORTED_LOCALES
from locales import DOMAIN, LOCALES_DIR

ROOT = LOCALES_DIR.parent
SOURCES = ("bot", "handlers", "dialogs")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# English is the source language: its catalog starts as a copy of the msgids and may be edited.
SOURCE_LOCALE = "en"


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    template = Catalog(project="family-help-bot", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            template.add(
                message, None, [(f"{source}/{filename}", lineno)], auto_comments=comments, context=context
            )
    return template


def update() -> None:
    template = extract()
    with (LOCALES_DIR / f"{DOMAIN}.pot").open("wb") as fp:
        write_po(fp, template, width=100, omit_header=False)
    for locale in SUPPORTED_LOCALES:
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as fp:
                catalog = read_po(fp, locale=locale, domain=DOMAIN)
            catalog.update(template, update_header_comment=False)
        else:
            catalog = Catalog(locale=locale, domain=DOMAIN, project="family-help-bot", fuzzy=False)
            catalog.update(template)
        if locale == SOURCE_LOCALE:
            for message in catalog:
                # A fuzzy guess is Babel's, not a translator's: the source language takes its msgid.
                if message.id and (not _translated(message.string) or "fuzzy" in message.flags):
                    message.string = message.id
                    message.flags.discard("fuzzy")
        with path.open("wb") as fp:
            write_po(fp, catalog, width=100, ignore_obsolete=True)
        print(f"updated {path.relative_to(ROOT)}")


def _translated(string: object) -> bool:
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


def problems(locale: str) -> list[str]:
    with po_path(locale).open("rb") as fp:
        catalog = read_po(fp, locale=locale, domain=DOMAIN)
    found = []
    for message in catalog:
        if not message.id:
            continue
        if "fuzzy" in message.flags:
            found.append(f"{locale}: fuzzy: {message.id!r}")
        elif not _translated(message.string):
            found.append(f"{locale}: untranslated: {message.id!r}")
        elif isinstance(message.string, tuple) and len(message.string) != catalog.num_plurals:
            found.append(f"{locale}: wrong number of plural forms: {message.id!r}")
    return found


def compile_all() -> None:
    for locale in SUPPORTED_LOCALES:
        with po_path(locale).open("rb") as fp:
            catalog = read_po(fp, locale=locale, domain=DOMAIN)
        with po_path(locale).with_suffix(".mo").open("wb") as fp:
            write_mo(fp, catalog)
        print(f"compiled {locale}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--update", action="store_true", help="extract from the code and merge into the catalogs"
    )
    parser.add_argument("--check", action="store_true", help="fail on a missing or fuzzy translation")
    args = parser.parse_args(argv)
    if args.update:
        update()
        return 0
    if args.check:
        found = [p for locale in SUPPORTED_LOCALES for p in problems(locale)]
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    compile_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
