"""The team's register of partner organisations as a page for its coordinators: the partners, a form to add
one, and each one's deactivation, on the same service as `/teams/{team}/partners` (one set of rules)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.access import audited
from api.deps import SessionDep, SettingsDep
from api.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from api.schemas import PartnerCreate
from api.services import partners as partner_service
from models.pathway import Language, PartnerChannel, PartnerKind
from web.deps import FormToken, PageDep
from web.labels import choices
from web.templating import render

router = APIRouter(include_in_schema=False)


def _team_of(page: PageDep, team: str | None) -> str:
    teams = sorted(page.staff.teams)
    if team is None:
        if not teams:
            raise ForbiddenError("you are on no team, so you keep no partner register")
        return teams[0]
    return team


def _page(
    request: Request,
    page: PageDep,
    session: SessionDep,
    team: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    error: str | None = None,
    secret: str | None = None,
    saved: str | None = None,
) -> Response:
    partner_service.require_register_keeper(page.staff, team)
    found = partner_service.list_partners(session, team, include_inactive=True)
    return render(
        request,
        "partners.html",
        page.language,
        status,
        page=page,
        team=team,
        teams=sorted(page.staff.teams),
        partners=found,
        kinds=choices(PartnerKind, page.language),
        channels=choices(PartnerChannel, page.language),
        languages=[("fi", "Suomi"), ("sv", "Svenska"), ("en", "English")],
        values=values or {"channel": "email", "language": "fi"},
        error=error,
        secret=secret,
        saved=saved,
        nav="partners",
    )


@router.get("/partners")
async def partners(
    request: Request,
    page: PageDep,
    session: SessionDep,
    team: Annotated[str | None, Query(max_length=64)] = None,
    saved: Annotated[str | None, Query(max_length=48)] = None,
) -> Response:
    chosen = _team_of(page, team)
    return await asyncio.to_thread(_page, request, page, session, chosen, saved=saved)


@router.post("/partners", dependencies=[FormToken])
async def add_partner(request: Request, page: PageDep, session: SessionDep, settings: SettingsDep) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items() if key != "csrf"}
    team = _team_of(page, form.pop("team", None))
    values = {key: value.strip() for key, value in form.items()}
    try:
        body = PartnerCreate.model_validate(
            {
                **values,
                "email": values.get("email") or None,
                "webhook_url": values.get("webhook_url") or None,
                "language": values.get("language") or Language.FI.value,
            }
        )
    except ValidationError as err:
        problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        return await asyncio.to_thread(_page, request, page, session, team, status=422, values=values, error=problem)
    fields = partner_service.PartnerFields(
        name=body.name,
        kind=body.kind.value,
        channel=body.channel,
        email=body.email,
        webhook_url=body.webhook_url,
        language=body.language.value,
    )
    try:
        partner_service.require_destination_keeper(page.staff, team)
        async with audited(session, page.staff, f"add_partner:{team}/{body.partner_id}"):
            partner, secret = await asyncio.to_thread(
                partner_service.create_partner,
                session,
                team,
                body.partner_id,
                fields,
                webhook_loopback=settings.webhook_loopback,
            )
            partner_id = partner.partner_id
    except (InvalidInputError, ConflictError, NotFoundError) as err:
        status = 409 if isinstance(err, ConflictError) else 422
        return await asyncio.to_thread(
            _page, request, page, session, team, status=status, values=values, error=err.detail
        )
    if secret is not None:
        # Shown this once, on this page only (never in a URL): the partner's system needs it.
        return await asyncio.to_thread(_page, request, page, session, team, secret=secret, saved=partner_id)
    return RedirectResponse(f"/app/partners?team={team}&saved={partner_id}", status_code=303)


@router.post("/partners/{partner_id}/active", dependencies=[FormToken])
async def set_partner_active(
    page: PageDep,
    session: SessionDep,
    partner_id: str,
    team: Annotated[str, Form(max_length=64)],
    active: Annotated[bool, Form()],
) -> Response:
    partner_service.require_register_keeper(page.staff, team)
    async with audited(session, page.staff, f"update_partner:{team}/{partner_id}"):
        await asyncio.to_thread(
            partner_service.update_partner,
            session,
            team,
            partner_id,
            {"active": active},
            rotate_secret=False,
            changed_by=page.staff.staff_id,
        )
    return RedirectResponse(f"/app/partners?team={team}&saved={partner_id}", status_code=303)
