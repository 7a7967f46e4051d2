"""The accessibility statement (saavutettavuusseloste, tillgänglighetsutlåtande), as the Act on the Provision
of Digital Services (306/2019) requires of a public-sector web service: in Finnish, Swedish and English,
linked from every page, open without signing in.

Its facts are the browser tests' own: `CHECKED_PAGES` is the list `tests/browser` walks with axe-core (WCAG 2.1
A and AA) at a desk width and on a 360 px phone on every run, so the statement cannot name a page that is not
checked, nor leave one out.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import SettingsDep
from core.i18n import gettext
from web.deps import LANGUAGE_COOKIE, browser_language
from web.templating import LANGUAGES, render

router = APIRouter(include_in_schema=False)

# When the statement was last reviewed against the checks (a new review updates it).
STATEMENT_DATE = date(2026, 12, 7)
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# The pages the browser tests check, by what a reader calls them (the tests visit each).
CHECKED_PAGES = (
    "caseload",
    "team",
    "team_reviews",
    "outcome_report",
    "partners",
    "new_referral",
    "inbox",
    "api_tokens",
    "about_me",
    "audit_log",
    "pathway",
    "plan_summary",
    "client_feedback",
    "partner_referral",
    "accessibility_statement",
)


@router.get("/accessibility")
async def accessibility_statement(
    request: Request, settings: SettingsDep, lang: Annotated[str | None, Query()] = None
) -> Response:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    language = lang if lang in LANGUAGES else chosen if chosen in LANGUAGES else browser_language(request)
    return render(
        request,
        "accessibility.html",
        language,
        made_on=STATEMENT_DATE,
        pages=CHECKED_PAGES,
        page_names=page_names(language),
        contact=settings.accessibility_contact,
    )


def page_names(language: str) -> dict[str, str]:
    return {
        "caseload": gettext(language, "My caseload"),
        "team": gettext(language, "Team"),
        "team_reviews": gettext(language, "Team reviews"),
        "outcome_report": gettext(language, "Outcome report"),
        "partners": gettext(language, "Partners"),
        "new_referral": gettext(language, "New referral"),
        "inbox": gettext(language, "Inbox"),
        "api_tokens": gettext(language, "API tokens"),
        "about_me": gettext(language, "About me"),
        "audit_log": gettext(language, "Audit log"),
        "pathway": gettext(language, "A pathway's page"),
        "plan_summary": gettext(language, "The client's plan summary"),
        "client_feedback": gettext(language, "The client's feedback page"),
        "partner_referral": gettext(language, "A partner's referral page"),
        "accessibility_statement": gettext(language, "This statement"),
    }
