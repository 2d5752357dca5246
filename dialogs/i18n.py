"""Translation primitives. The engine receives translators; it never loads catalogs itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

SUPPORTED_LOCALES: tuple[str, ...] = ("ru", "en")


class Translator(Protocol):
    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext_noop marker
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def pick_locale(language_code: str | None, default: str) -> str:
    """The platform's language hint mapped to a supported locale (the parent can change it)."""
    if not language_code:
        return default
    code = language_code.lower().split("-")[0]
    if code in SUPPORTED_LOCALES:
        return code
    # Speakers of these languages in Russia usually read Russian more easily than English.
    if code in {"uk", "be", "kk", "ky", "uz", "tg", "hy", "az", "ka", "tt", "ba"}:
        return "ru"
    return "en"


class Translators:
    """One translator per supported locale, with a fallback to the default one."""

    def __init__(self, by_locale: Mapping[str, Translator], default: str) -> None:
        if default not in by_locale:
            raise ValueError(f"no catalog for the default locale {default!r}")
        self._by_locale = dict(by_locale)
        self.default = default

    def __getitem__(self, locale: str) -> Translator:
        return self._by_locale.get(locale, self._by_locale[self.default])

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self._by_locale)
