"""Pathways waiting for the team's review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import schemas
from api.deps import CurrentStaff, SessionDep, TemporalClientDep
from api.routes.responses import AUTHENTICATED, TEMPORAL
from api.services import pathways

router = APIRouter()


@router.get("", responses={**AUTHENTICATED, **TEMPORAL}, summary="Pending team reviews, oldest first")
async def pending_team_reviews(
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    team: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")] = None,
) -> list[schemas.PendingTeamReview]:
    """Pending review items of your teams' pathways (or one team's), oldest first."""
    return await pathways.pending_team_reviews(client=client, session=session, staff=staff, team=team)
