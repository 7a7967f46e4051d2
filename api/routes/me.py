"""The signed-in staff member's own view: about them (how they are reached), their caseload and their API tokens."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, status

from api import schemas
from api.access import ReadPurpose, TeamGrant, audited, team_access
from api.deps import CurrentPerson, SessionDep, SettingsDep
from api.routes.responses import AUTHENTICATED
from api.services import pathways, staff_admin
from api.services import staff as staff_service
from api.services.staff import aware
from models.tables import ApiToken

router = APIRouter()


@router.get("", responses=AUTHENTICATED, summary="About you: your details as colleagues and clients see them")
async def about_me(staff: CurrentPerson, session: SessionDep) -> schemas.AboutMe:
    member, teams = await asyncio.to_thread(staff_service.get_member, session, staff.staff_id)
    return schemas.AboutMe(**staff_admin.staff_public(member, teams).model_dump())


@router.put(
    "/contact",
    responses=AUTHENTICATED,
    summary="Your work e-mail, work phone and when to call: printed on your clients' plan summaries",
)
async def update_my_contact(body: schemas.StaffContact, staff: CurrentPerson, session: SessionDep) -> schemas.AboutMe:
    updated = await staff_admin.update_contact(
        session=session, actor=staff, staff_id=staff.staff_id, contact=body, action="update_own_contact"
    )
    return schemas.AboutMe(**updated.model_dump())


@router.get("/caseload", responses=AUTHENTICATED, summary="Your pathways as case manager")
async def my_caseload(
    grant: Annotated[TeamGrant, team_access("read_caseload", purpose_in_context=ReadPurpose.CLIENT_WORK)],
) -> list[schemas.PathwayListItem]:
    """Open pathways you are the case manager of, soonest deadline first (at most 500)."""
    return await pathways.caseload(grant=grant)


@router.get("/tokens", responses=AUTHENTICATED, summary="Your API tokens (never the tokens themselves)")
async def my_tokens(staff: CurrentPerson, session: SessionDep) -> list[schemas.TokenPublic]:
    tokens = await asyncio.to_thread(staff_service.list_tokens, session, staff.staff_id)
    return [token_public(token) for token in tokens]


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    responses=AUTHENTICATED,
    summary="Make an API token for your own scripts; it is shown once",
)
async def make_my_token(
    body: schemas.TokenRequest, staff: CurrentPerson, session: SessionDep, settings: SettingsDep
) -> schemas.TokenIssued:
    """The token acts as you, and what it does is audited as yours. It lasts `days`, at most the deployment's
    PATHWAYS_API_TOKEN_DAYS; revoke it when the script no longer needs it."""
    days = min(body.days or settings.api_token_days, settings.api_token_days)
    async with audited(session, staff, "issue_own_token"):
        issued = await asyncio.to_thread(
            staff_service.issue_own_token,
            session,
            staff,
            label=body.label,
            lifetime=timedelta(days=days),
            roles_from_provider=bool(settings.oidc_role_claim or settings.oidc_teams_claim),
        )
    assert issued.row is not None
    return schemas.TokenIssued(**token_public(issued.row).model_dump(), token=issued.token)


@router.delete(
    "/tokens/{token_id}",
    responses={**AUTHENTICATED, 404: {"model": schemas.ErrorBody, "description": "You have no such token."}},
    summary="Revoke one of your API tokens",
)
async def revoke_my_token(
    token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{6,32}$")], staff: CurrentPerson, session: SessionDep
) -> schemas.TokenPublic:
    async with audited(session, staff, f"revoke_own_token:{token_id}"):
        token = await asyncio.to_thread(staff_service.revoke_own_token, session, staff.staff_id, token_id)
        public = token_public(token)
    return public


def token_public(token: ApiToken) -> schemas.TokenPublic:
    return schemas.TokenPublic(
        token_id=token.token_id,
        label=token.label,
        created_at=aware(token.created_at),
        expires_at=aware(token.expires_at) if token.expires_at else None,
        revoked_at=aware(token.revoked_at) if token.revoked_at else None,
    )
