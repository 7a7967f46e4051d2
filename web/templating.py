"""The pages' templates: Jinja2, autoescaped, with gettext from the catalogues and the formats Finns use.

One environment per language (translations are installed per environment); each page is rendered in the
signed-in staff member's language, or the one they switched to.
"""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core.i18n import LOCALES, datetime_local_value, format_date, format_datetime, gettext, translations
from models.actions import PlannedServiceInput
from models.events import EventKind
from web import forms, work_ability
from web.labels import code_label, field_label

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("fi", "sv", "en")


@functools.cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        language=language,
        label=lambda value: code_label(value, language),
        event_label=lambda kind: _event_label(kind, language),
        code=lambda key: _report_code(key, language),
        number=lambda value: format_decimal(value, format="#,##0.#", locale=LOCALES[language]),
        percent=lambda share: format_percent(share, locale=LOCALES[language]) if share is not None else "—",
        field_label=lambda name: field_label(name, language),
        when=lambda moment: format_datetime(moment, language),
        day=lambda moment: format_date(moment, language),
        local_input=datetime_local_value,
        days=_days,
        new_key=lambda: f"web-{uuid.uuid4().hex}",
        plan_rows=lambda record, posted: forms.plan_rows(record, posted, language),
        service_fields=forms.describe(PlannedServiceInput, language),
        work_ability_chart=work_ability.chart,
    )
    return env


def _event_label(kind: str, language: str) -> str:
    known = {member.value for member in EventKind}
    return code_label(EventKind(kind), language) if kind in known else kind


def _report_code(key: str, language: str) -> str:
    """A report's key: a code of the product (`extended_assessment:basic` is a route and its level)."""
    return ", ".join(code_label(part, language) for part in key.split(":"))


def _days(interval: timedelta | None) -> str:
    return f"{interval.total_seconds() / 86400:g}" if interval else ""


def render(request: Request, template: str, language: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment(language).get_template(template).render(request=request, **context)
    response = HTMLResponse(html, status_code=status_code)
    # Pages with client data are never stored by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def t(language: str, message: str) -> str:
    return gettext(language, message)
