"""Translations: gettext catalogs (Babel) for every language truceline speaks, read from the
`.po` files shipped in this package and compiled in memory on first use (nothing is written
or downloaded at run time). `translator(lang)` gives the catalog of a language; English, the
language of the source, needs none."""

from __future__ import annotations

import functools
import gettext
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from truceline.i18n.message import Message

HERE = Path(__file__).parent
DOMAIN = "truceline"
LANGUAGES = ("en", "ru", "tr")  # the languages with a catalog (en: the source's own)


def catalog_path(lang: str) -> Path:
    return HERE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translator(lang: str) -> gettext.NullTranslations:
    """The translations of `lang` (its base language if only that has a catalog: `ru-RU`
    reads `ru`); English, or a language without a catalog, says the source's English."""
    for name in (lang, lang.split("-")[0]):
        path = catalog_path(name)
        if name != "en" and path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=name, domain=DOMAIN)
            buffer = BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return gettext.GNUTranslations(buffer)
    return gettext.NullTranslations()


def say(text: object, lang: str) -> str:
    """What a reader of `lang` reads: a `Message` in that language, anything else as it is."""
    if isinstance(text, Message):
        return text.said(translator(lang))
    return "" if text is None else str(text)


def environment_language(environ: Mapping[str, str]) -> str:
    """The language of a terminal: `TRUCELINE_LANG`, else the locale's (`LC_ALL`,
    `LC_MESSAGES`, `LANG`: `ru_RU.UTF-8` is ru), when truceline speaks it; else English."""
    for name in ("TRUCELINE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if value:
            base = value.split(".")[0].split("@")[0].replace("_", "-").split("-")[0].lower()
            return base if base in LANGUAGES else "en"
    return "en"


@functools.cache
def locale(lang: str) -> Locale:
    """Babel's locale for `lang` (dates and numbers), English for one it does not know."""
    try:
        return Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")
