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
from babel.units import format_unit
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from core.i18n import LOCALES, datetime_local_value, format_date, format_datetime, gettext, translations
from models.actions import PlannedServiceInput
from models.events import SYSTEM_ACTOR, EventKind
from models.pathway import CLIENT_ACTOR_PREFIX, PARTNER_ACTOR_PREFIX
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
        duration=lambda interval: duration(interval, language),
        new_key=lambda: f"web-{uuid.uuid4().hex}",
        plan_rows=lambda record, posted: forms.plan_rows(record, posted, language),
        service_fields=forms.describe(PlannedServiceInput, language),
        work_ability_chart=work_ability.chart,
        person=_person,
    )
    return env


@pass_context
def _person(context: Context, actor: str | None) -> str:
    """Who acted or is named, as a person reads it: the staff member's name from the page's `people`, the
    pathway itself for what it did by its deadlines, a partner by its register's name; else the id."""
    if not actor:
        return ""
    if actor == SYSTEM_ACTOR:
        return gettext(context["language"], "the pathway (automatic)")
    if actor.startswith(CLIENT_ACTOR_PREFIX):
        return gettext(context["language"], "the client, through their feedback link")
    if actor.startswith(PARTNER_ACTOR_PREFIX):
        partner_id = actor.removeprefix(PARTNER_ACTOR_PREFIX)
        return str((context.get("partners") or {}).get(partner_id, partner_id))
    return str((context.get("people") or {}).get(actor, actor))


def _event_label(kind: str, language: str) -> str:
    known = {member.value for member in EventKind}
    return code_label(EventKind(kind), language) if kind in known else kind


def _report_code(key: str, language: str) -> str:
    """A report's key: a code of the product (`extended_assessment:basic` is a route and its level)."""
    return ", ".join(code_label(part, language) for part in key.split(":"))


def duration(interval: timedelta | None, language: str) -> str:
    """A duration in words, exact: "2 weeks", "10 days", "5 minutes" (a demo's), never "0.0035 days"."""
    if not interval:
        return ""
    seconds = int(interval.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            return format_unit(seconds // size, f"duration-{unit}", locale=LOCALES[language], length="long")
    return format_unit(seconds, "duration-second", locale=LOCALES[language], length="long")


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
