"""Finnish, Swedish and English: the gettext catalogues (locale/<lang>/LC_MESSAGES/messages.po, read with
Babel) and times as Finns write them, in Europe/Helsinki.

English is the source language: a message is written in English in the code or a template, and the
Finnish and Swedish catalogues translate it (tests/i18n check that every message has both). The catalogues
are read as .po text when first needed (no compile step to forget); `pybabel extract -F babel.cfg`
lists the messages in use.
"""

from __future__ import annotations

import functools
import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
HELSINKI = ZoneInfo("Europe/Helsinki")
# The product's languages (models.pathway.Language values) and the locales their numbers and dates follow:
# Finland's conventions in all three (1.12.2026 klo 9.05 / kl. 9.05 / at 9:05).
LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_FI"}
_DATETIME_PATTERNS = {"fi": "d.M.yyyy 'klo' H.mm", "sv": "d.M.yyyy 'kl.' H.mm", "en": "d.M.yyyy 'at' H:mm"}
_DATE_PATTERN = "d.M.yyyy"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(language: str) -> NullTranslations:
    """The language's translations (English, the source, translates to itself)."""
    path = catalogue_path(language)
    if language == "en" or not path.exists():
        return NullTranslations()
    with path.open("rb") as file:
        catalogue = read_po(file, locale=LOCALES[language])
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def gettext(language: str, message: str) -> str:
    return str(translations(language).gettext(message))


def pgettext(language: str, context: str, message: str) -> str:
    return str(translations(language).pgettext(context, message))


def locale(language: str) -> Locale:
    return Locale.parse(LOCALES[language])


def local_time(moment: datetime) -> datetime:
    return moment.astimezone(HELSINKI)


def format_datetime(moment: datetime | None, language: str) -> str:
    """1.12.2026 klo 9.05 (Helsinki time); empty for none."""
    if moment is None:
        return ""
    return babel_format_datetime(moment, _DATETIME_PATTERNS[language], tzinfo=HELSINKI, locale=LOCALES[language])


def format_date(moment: date | datetime | None, language: str) -> str:
    """1.12.2026 (the Helsinki date of a moment); empty for none."""
    if moment is None:
        return ""
    day = local_time(moment).date() if isinstance(moment, datetime) else moment
    return babel_format_date(day, _DATE_PATTERN, locale=LOCALES[language])


def datetime_local_value(moment: datetime | None) -> str:
    """A browser's `datetime-local` input value, in Helsinki time."""
    return local_time(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""
