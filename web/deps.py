"""Who uses a page and in which language: the browser's session (never a bearer token: the pages are for
people), the language they chose or their own, and the token their forms carry against cross-site posts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlalchemy import Engine
from sqlmodel import Session

from api.auth import sessions
from api.deps import get_engine
from api.errors import ApiError, ForbiddenError
from api.services.staff import StaffMember
from web.templating import LANGUAGES

LANGUAGE_COOKIE = "pathways_language"


class SignInRequired(ApiError):
    """No session: the page sends the browser to sign in and back."""

    def __init__(self, return_to: str) -> None:
        super().__init__("sign in to continue")
        self.return_to = return_to


class ElsewhereForRole(ApiError):
    """The role's own first page is elsewhere (the data protection officer's is the audit log)."""

    def __init__(self, location: str) -> None:
        super().__init__("this role starts elsewhere")
        self.location = location


def _member(engine: Engine, secret: str, idle: timedelta) -> StaffMember:
    with Session(engine) as session:
        return sessions.staff_for_session(session, secret, idle=idle)


async def get_web_staff(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> StaffMember:
    secret = request.cookies.get(sessions.cookie_name(request.app.state.settings.effective_public_url))
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not secret:
        raise SignInRequired(path if request.method == "GET" else "/app/")
    try:
        idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
        staff = await asyncio.to_thread(_member, engine, secret, idle)
    except ApiError:
        raise SignInRequired(path if request.method == "GET" else "/app/") from None
    if staff.is_admin:
        raise ForbiddenError("administrators manage staff and teams and do not read or act on client pathways")
    if staff.is_data_protection_officer and request.url.path in ("/app", "/app/"):
        raise ElsewhereForRole("/app/audit")
    return staff


WebStaff = Annotated[StaffMember, Depends(get_web_staff)]


def browser_language(request: Request, default: str = "fi") -> str:
    """The first of the browser's languages (Accept-Language, in its order of preference) that the pages speak;
    `default` if none is."""
    preferences = []
    for position, part in enumerate(request.headers.get("accept-language", "").split(",")):
        code, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        preferences.append((-weight, position, code.strip()[:2].lower()))
    return next((code for _, _, code in sorted(preferences) if code in LANGUAGES), default)


def language_of(request: Request, staff: StaffMember | None) -> str:
    """The language chosen on the pages (the switch); until one is chosen, the browser's, when it asks for one
    the pages speak; else the member's own (the one their notices are in), or Finnish before sign-in."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    own = staff.language.value if staff is not None else "fi"
    return browser_language(request, default=own)


@dataclass(frozen=True)
class Page:
    """What every page's template gets: who is signed in, the language, the form token."""

    staff: StaffMember
    language: str
    csrf: str


async def get_page(request: Request, staff: WebStaff) -> Page:
    secret = request.cookies.get(sessions.cookie_name(request.app.state.settings.effective_public_url), "")
    return Page(staff=staff, language=language_of(request, staff), csrf=sessions.csrf_token(secret))


PageDep = Annotated[Page, Depends(get_page)]


async def check_form_token(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> None:
    """A post must carry the session's form token: another site's page cannot read it, so cannot forge it."""
    secret = request.cookies.get(sessions.cookie_name(request.app.state.settings.effective_public_url), "")
    if not sessions.csrf_matches(secret, csrf):
        raise ForbiddenError("the form has expired or did not come from this site: reload the page and try again")


FormToken = Depends(check_form_token)
