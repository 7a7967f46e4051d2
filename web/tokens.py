"""The signed-in person's API tokens as a page: their own, made by themselves and shown once, for scripts
that act as them (audited as theirs); revoked here too. The same service as `/me/tokens`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.access import audited
from api.deps import SessionDep, SettingsDep
from api.services import staff as staff_service
from web.deps import FormToken, PageDep
from web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, page: PageDep, session: SessionDep, max_days: int, *, token: str | None = None, status: int = 200
) -> Response:
    tokens = staff_service.list_tokens(session, page.staff.staff_id)
    return render(
        request,
        "tokens.html",
        page.language,
        status,
        page=page,
        tokens=tokens,
        token=token,
        max_days=max_days,
        nav="tokens",
    )


@router.get("/tokens")
async def tokens(request: Request, page: PageDep, session: SessionDep, settings: SettingsDep) -> Response:
    return await asyncio.to_thread(_page, request, page, session, settings.api_token_days)


@router.post("/tokens", dependencies=[FormToken])
async def make_token(
    request: Request,
    page: PageDep,
    session: SessionDep,
    settings: SettingsDep,
    label: Annotated[str, Form(max_length=200)] = "",
    days: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> Response:
    lifetime = timedelta(days=min(days or settings.api_token_days, settings.api_token_days))
    async with audited(session, page.staff, "issue_own_token"):
        issued = await asyncio.to_thread(
            staff_service.issue_own_token,
            session,
            page.staff,
            label=label.strip(),
            lifetime=lifetime,
            roles_from_provider=bool(settings.oidc_role_claim or settings.oidc_teams_claim),
        )
    # Shown this once, on this page only (never in a URL or a redirect).
    return await asyncio.to_thread(_page, request, page, session, settings.api_token_days, token=issued.token)


@router.post("/tokens/{token_id}/revoke", dependencies=[FormToken])
async def revoke_token(page: PageDep, session: SessionDep, token_id: str) -> Response:
    async with audited(session, page.staff, f"revoke_own_token:{token_id}"):
        await asyncio.to_thread(staff_service.revoke_own_token, session, page.staff.staff_id, token_id)
    return RedirectResponse("/app/tokens", status_code=303)
