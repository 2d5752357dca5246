"""Loading the gettext catalogs shipped with the code."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from dialogs.i18n import SUPPORTED_LOCALES, Translator, Translators
from locales import DOMAIN, LOCALES_DIR

log = logging.getLogger(__name__)


def load_translations(locale: str, locales_dir: Path = LOCALES_DIR) -> Translations:
    """The compiled .mo when it is up to date; otherwise compile the .po in memory."""
    folder = locales_dir / locale / "LC_MESSAGES"
    po_path, mo_path = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo_path.exists() and (not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime):
        with mo_path.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    if not po_path.exists():
        raise FileNotFoundError(f"no catalog for locale {locale!r} in {locales_dir}")
    log.warning("catalog %s is not compiled (run python -m locales.build); compiling in memory", locale)
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def load_translators(default_locale: str, locales_dir: Path = LOCALES_DIR) -> Translators:
    loaded: dict[str, Translator] = {loc: load_translations(loc, locales_dir) for loc in SUPPORTED_LOCALES}
    return Translators(loaded, default_locale)
