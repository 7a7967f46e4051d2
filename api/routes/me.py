"""The signed-in staff member's own view."""

from __future__ import annotations

from fastapi import APIRouter

from api import schemas
from api.deps import CurrentStaff, SessionDep, TemporalClientDep
from api.routes.responses import AUTHENTICATED, TEMPORAL
from api.services import pathways

router = APIRouter()


@router.get("/caseload", responses={**AUTHENTICATED, **TEMPORAL}, summary="Your pathways as case manager")
async def my_caseload(
    staff: CurrentStaff, session: SessionDep, client: TemporalClientDep
) -> list[schemas.PathwayListItem]:
    """Open pathways you are the case manager of, soonest deadline first (at most 500)."""
    return await pathways.caseload(client=client, session=session, staff=staff)
