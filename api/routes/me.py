"""The signed-in staff member's own view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from api import schemas
from api.access import TeamGrant, team_access
from api.routes.responses import AUTHENTICATED
from api.services import pathways

router = APIRouter()


@router.get("/caseload", responses=AUTHENTICATED, summary="Your pathways as case manager")
async def my_caseload(grant: Annotated[TeamGrant, team_access("read_caseload")]) -> list[schemas.PathwayListItem]:
    """Open pathways you are the case manager of, soonest deadline first (at most 500)."""
    return await pathways.caseload(grant=grant)
