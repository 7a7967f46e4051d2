"""The Finnish and Swedish catalogues cover every text staff see, keep its placeholders, and dates read as
Finns write them in Helsinki time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.i18n import catalogue_path, format_date, format_datetime
from web.labels import CODES, FIELDS

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": (2,), "t": (2,), "pgettext": ((2, "c"), 3)}
METHODS = [
    ("web/**.py", "python"),
    ("records/notification_texts.py", "python"),
    ("reports/chart.py", "python"),
    ("client/**.py", "python"),
    ("web/templates/**.html", "jinja2"),
]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _used() -> set[tuple[str | None, str]]:
    found: set[tuple[str | None, str]] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), METHODS, OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        text = message if isinstance(message, str) else message[0]
        found.add((context, text))
    # The notification texts are looked up with a computed context: the catalogue's own entries count.
    for labels in CODES.values():
        found |= {("label", text) for text in labels.values()}
    found |= {("label", text) for text in FIELDS.values()}
    return found


USED = _used()


def test_the_extraction_finds_the_pages_texts() -> None:
    assert (None, "My caseload") in USED and ("label", "In services") in USED
    assert len(USED) > 200


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_every_text_staff_see_is_translated_and_keeps_its_placeholders(language: str) -> None:
    with catalogue_path(language).open("rb") as file:
        catalogue = read_po(file)
    entries = {(message.context, message.id): message for message in catalogue if message.id}
    missing = sorted(
        f"{context or ''}|{text}"
        for context, text in USED
        if (context, text) not in entries and not (context or "").startswith("notification")
    )
    assert missing == []
    for (context, text), message in entries.items():
        assert message.string, f"{language}: no translation for {context or ''}|{text}"
        assert not message.fuzzy, f"{language}: fuzzy translation for {text}"
        assert sorted(PLACEHOLDER.findall(str(message.string))) == sorted(PLACEHOLDER.findall(str(text))), text


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fi", "1.12.2026 klo 11.05"), ("sv", "1.12.2026 kl. 11.05"), ("en", "1.12.2026 at 11:05")],
)
def test_times_are_helsinki_time_as_finns_write_them(language: str, expected: str) -> None:
    assert format_datetime(datetime(2026, 12, 1, 9, 5, tzinfo=UTC), language) == expected
    # The Helsinki date, not the UTC one: 23:30 UTC on 31 July is already 1 August in Helsinki.
    assert format_date(datetime(2026, 7, 31, 23, 30, tzinfo=UTC), language) == "1.8.2026"


def test_no_page_text_has_a_bare_percent_sign() -> None:
    """The pages' gettext is new-style: it %-formats every text, so a lone "%" breaks the page."""
    bare = [text for context, text in USED if context is None and re.search(r"%(?!\(\w+\)s|%)", text)]
    assert bare == []
