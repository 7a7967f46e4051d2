"""Work-ability teams."""

from __future__ import annotations

from fastapi import APIRouter, status

from api import schemas
from api.deps import CurrentAdmin, CurrentPerson, SessionDep
from api.routes.responses import AUTHENTICATED
from api.services import staff as staff_service

router = APIRouter()


@router.get("", responses=AUTHENTICATED, summary="Every team")
def list_teams(session: SessionDep, _: CurrentPerson) -> list[schemas.TeamPublic]:
    return [schemas.TeamPublic(team_id=team.team_id, name=team.name) for team in staff_service.list_teams(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**AUTHENTICATED, 409: {"model": schemas.ErrorBody, "description": "The team id is taken."}},
    summary="Add a team (administrators)",
)
def create_team(body: schemas.TeamCreate, session: SessionDep, _: CurrentAdmin) -> schemas.TeamPublic:
    team = staff_service.create_team(session, team_id=body.team_id, name=body.name)
    return schemas.TeamPublic(team_id=team.team_id, name=team.name)
