"""Work-ability teams."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, status

from api import schemas
from api.access import audited
from api.deps import CurrentAdmin, CurrentPerson, SessionDep
from api.routes.responses import AUTHENTICATED
from api.services import staff as staff_service
from models.pathway import STAFF_ID_PATTERN
from models.tables import Team

router = APIRouter()


@router.get("", responses=AUTHENTICATED, summary="Every team")
def list_teams(session: SessionDep, _: CurrentPerson) -> list[schemas.TeamPublic]:
    return [team_public(team) for team in staff_service.list_teams(session)]


def team_public(team: Team) -> schemas.TeamPublic:
    return schemas.TeamPublic(
        team_id=team.team_id, name=team.name, contact_phone=team.contact_phone, contact_email=team.contact_email
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**AUTHENTICATED, 409: {"model": schemas.ErrorBody, "description": "The team id is taken."}},
    summary="Add a team (administrators)",
)
def create_team(body: schemas.TeamCreate, session: SessionDep, _: CurrentAdmin) -> schemas.TeamPublic:
    team = staff_service.create_team(session, team_id=body.team_id, name=body.name)
    return team_public(team)


@router.put(
    "/{team_id}/contact",
    responses={**AUTHENTICATED, 404: {"model": schemas.ErrorBody, "description": "No such team."}},
    summary="Set the team's general contact (administrators): printed on its clients' plan summaries",
)
async def set_team_contact(
    team_id: Annotated[str, Path(pattern=STAFF_ID_PATTERN, description="The team's id.")],
    body: schemas.TeamContact,
    session: SessionDep,
    admin: CurrentAdmin,
) -> schemas.TeamPublic:
    async with audited(session, admin, f"set_team_contact:{team_id}"):
        team = await asyncio.to_thread(
            staff_service.set_team_contact,
            session,
            team_id=team_id,
            phone=body.contact_phone,
            email=body.contact_email,
        )
        answer = team_public(team)
    return answer
