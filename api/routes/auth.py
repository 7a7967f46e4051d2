"""Signing in and out in the browser: the identity provider's authorization code flow with PKCE, and the
clearly marked development sign-in of `make run` (`PATHWAYS_DEV_SIGN_IN`, never in production)."""

from __future__ import annotations

import asyncio
import hmac
import html
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from api.auth import sessions
from api.auth.identity import staff_for_claims
from api.auth.oidc import IdentityProviderError, InvalidToken, PkceChallenge
from api.deps import IdentityProviderDep, SessionDep, SettingsDep, SignedInStaff
from api.errors import NotAuthenticatedError, NotFoundError, TemporalUnavailableError
from api.headers import SIGN_IN_PAGE_STYLE
from api.routes.responses import AUTHENTICATED
from api.schemas import SignedInStaffMember
from core.settings import Settings
from models.tables import SignInMethod, Staff, StaffRole

router = APIRouter()

ReturnTo = Annotated[str | None, Query(max_length=2000, description="A path on this site to go back to.")]


def _redirect_uri(settings: Settings) -> str:
    return f"{settings.effective_public_url}/auth/callback"


# The browser that started a sign-in holds its state in this cookie, and only that browser may finish it: a
# code and state captured or made by someone else cannot sign a victim in as them (login CSRF). Over https it is
# a __Host- cookie (path /, no Domain), so a sibling host cannot plant one.
SIGN_IN_COOKIE = "pathways_sign_in"


def _sign_in_cookie(settings: Settings) -> tuple[str, str]:
    if settings.effective_public_url.startswith("https://"):
        return "__Host-" + SIGN_IN_COOKIE, "/"
    return SIGN_IN_COOKIE, "/auth"


def _signed_in(response: Response, settings: Settings, secret: str, hours: float) -> Response:
    response.set_cookie(
        sessions.cookie_name(settings.effective_public_url),
        secret,
        max_age=int(hours * 3600),
        httponly=True,
        secure=settings.effective_public_url.startswith("https://"),
        samesite="lax",
        path="/",
    )
    return response


@router.get("/login", summary="Sign in with the organisation's identity provider", include_in_schema=False)
async def login(
    settings: SettingsDep, provider: IdentityProviderDep, session: SessionDep, return_to: ReturnTo = None
) -> Response:
    if provider is None:
        if settings.dev_sign_in:
            return RedirectResponse("/auth/dev" + (f"?return_to={return_to}" if return_to else ""), status_code=303)
        raise NotFoundError("sign-in is not configured: set PATHWAYS_OIDC_ISSUER and PATHWAYS_OIDC_CLIENT_ID")
    state, nonce, pkce = secrets.token_urlsafe(32), secrets.token_urlsafe(32), PkceChallenge.new()
    await asyncio.to_thread(
        sessions.start_sign_in,
        session,
        state=state,
        nonce=nonce,
        verifier=pkce.verifier,
        return_to=sessions.safe_return_path(return_to),
    )
    try:
        url = await provider.authorization_url(
            redirect_uri=_redirect_uri(settings), state=state, nonce=nonce, pkce=pkce
        )
    except IdentityProviderError as err:
        raise TemporalUnavailableError(f"the identity provider cannot be reached: {err}") from None
    response = RedirectResponse(url, status_code=303)
    name, path = _sign_in_cookie(settings)
    response.set_cookie(
        name,
        state,
        max_age=sessions.SIGN_IN_MINUTES * 60,
        httponly=True,
        secure=settings.effective_public_url.startswith("https://"),
        samesite="lax",  # sent along with the provider's redirect back, a top-level GET
        path=path,
    )
    return response


@router.get("/callback", include_in_schema=False)
async def callback(
    http: Request,
    settings: SettingsDep,
    provider: IdentityProviderDep,
    session: SessionDep,
    state: Annotated[str, Query(max_length=500)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    error_description: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    if provider is None:
        raise NotFoundError("sign-in is not configured")
    if error:
        raise NotAuthenticatedError(f"the identity provider did not sign you in: {error_description or error}")
    if not state or not code:
        raise NotAuthenticatedError("the identity provider's answer lacks its code or state; start again")
    cookie_name, cookie_path = _sign_in_cookie(settings)
    started_here = http.cookies.get(cookie_name, "")
    if not hmac.compare_digest(started_here.encode(), state.encode()):
        # Not consumed: the browser that did start it can still finish.
        raise NotAuthenticatedError("this sign-in was not started in this browser; start again from the sign-in page")
    request = await asyncio.to_thread(sessions.finish_sign_in, session, state)
    try:
        signed_in = await provider.exchange_code(
            code=code, redirect_uri=_redirect_uri(settings), verifier=request.code_verifier, nonce=request.nonce
        )
    except InvalidToken as err:
        raise NotAuthenticatedError(str(err)) from None
    except IdentityProviderError as err:
        raise TemporalUnavailableError(f"the identity provider cannot be reached: {err}") from None
    member = await asyncio.to_thread(staff_for_claims, session, signed_in.claims, settings)
    secret, _ = await asyncio.to_thread(
        sessions.open_session,
        session,
        staff_id=member.staff_id,
        method=SignInMethod.OIDC,
        hours=settings.session_hours,
        id_token_hint=signed_in.id_token,
        # Where the deployment takes them from the provider's claims, the browser keeps what it said.
        role=member.role if settings.oidc_role_claim else None,
        teams=sorted(member.teams) if settings.oidc_teams_claim else None,
    )
    response = _signed_in(
        RedirectResponse(request.return_to, status_code=303), settings, secret, settings.session_hours
    )
    response.delete_cookie(cookie_name, path=cookie_path)
    return response


@router.post("/logout", include_in_schema=False)
async def logout(
    request: Request, settings: SettingsDep, provider: IdentityProviderDep, session: SessionDep
) -> Response:
    secret = request.cookies.get(sessions.cookie_name(settings.effective_public_url))
    ended = await asyncio.to_thread(sessions.end_session, session, secret) if secret else None
    target = "/auth/signed-out"
    if provider is not None and ended is not None and ended.method is SignInMethod.OIDC:
        try:
            target = (
                await provider.end_session_url(
                    id_token_hint=ended.id_token_hint,
                    post_logout_redirect_uri=f"{settings.effective_public_url}/auth/signed-out",
                )
                or target
            )
        except IdentityProviderError:
            pass  # signed out here; the provider's own session may outlive it
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(sessions.cookie_name(settings.effective_public_url), path="/")
    return response


@router.get("/signed-out", include_in_schema=False)
async def signed_out() -> HTMLResponse:
    return HTMLResponse(
        _page("Signed out", "<p>You have signed out.</p><p><a href='/auth/login'>Sign in again</a></p>")
    )


@router.get("/session", responses=AUTHENTICATED, summary="Who is signed in (bearer token or browser session)")
async def who(staff: SignedInStaff) -> SignedInStaffMember:
    return SignedInStaffMember(
        staff_id=staff.staff_id, display_name=staff.display_name, role=staff.role, teams=sorted(staff.teams)
    )


# -- the development sign-in of `make run` --------------------------------------------------------------------


def _require_dev_sign_in(settings: Settings) -> None:
    if not settings.dev_sign_in:
        raise NotFoundError("the development sign-in is off (it is for `make run` only)")


def _demo_staff(session: Session) -> list[Staff]:
    return list(session.exec(select(Staff).where(col(Staff.active).is_(True)).order_by(col(Staff.staff_id))))


@router.get("/dev", include_in_schema=False)
async def dev_sign_in_page(settings: SettingsDep, session: SessionDep, return_to: ReturnTo = None) -> HTMLResponse:
    _require_dev_sign_in(settings)
    staff = await asyncio.to_thread(_demo_staff, session)
    back = html.escape(sessions.safe_return_path(return_to), quote=True)
    buttons = "".join(_dev_button(member, back) for member in staff if member.role is not StaffRole.ADMIN)
    body = (
        "<p role='alert' class='warning'><strong>Development sign-in.</strong> Anyone who can reach this page "
        "can act as any staff member: it exists for <code>make run</code> only and is off unless "
        "PATHWAYS_DEV_SIGN_IN is true. Production signs in with the organisation's identity provider.</p>"
        f"<ul class='staff'>{buttons}</ul>"
    )
    return HTMLResponse(_page("Development sign-in", body))


@router.post("/dev", include_in_schema=False)
async def dev_sign_in(
    settings: SettingsDep,
    session: SessionDep,
    staff_id: Annotated[str, Form(max_length=64)],
    return_to: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    _require_dev_sign_in(settings)
    staff = await asyncio.to_thread(session.get, Staff, staff_id)
    if staff is None or not staff.active or staff.role is StaffRole.ADMIN:
        raise NotAuthenticatedError(f"{staff_id} is not an active professional or coordinator")
    secret, _ = await asyncio.to_thread(
        sessions.open_session,
        session,
        staff_id=staff.staff_id,
        method=SignInMethod.DEVELOPMENT,
        hours=settings.session_hours,
    )
    target = sessions.safe_return_path(return_to)
    return _signed_in(RedirectResponse(target, status_code=303), settings, secret, settings.session_hours)


def _dev_button(member: Staff, back: str) -> str:
    staff_id = html.escape(member.staff_id, quote=True)
    label = f"Sign in as {html.escape(member.display_name)} ({html.escape(member.role.value)})"
    return (
        "<li><form method='post' action='/auth/dev'>"
        f"<input type='hidden' name='staff_id' value='{staff_id}'><input type='hidden' name='return_to' value='{back}'>"
        f"<button type='submit'>{label}</button></form></li>"
    )


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
        "content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='/app/static/favicon.svg' type='image/svg+xml'>"
        f"<title>{html.escape(title)} · Work-ability pathways</title>"
        f"<style>{SIGN_IN_PAGE_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main>"
        "<footer><p><a href='/accessibility'>Accessibility statement · Saavutettavuusseloste · "
        "Tillgänglighetsutlåtande</a></p></footer></body></html>"
    )
