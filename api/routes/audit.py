"""Who processed a pathway's data: the audit trail, for the team's coordinators."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from api import schemas
from api.deps import CurrentStaff, SessionDep, TemporalClientDep
from api.routes.responses import MAX_DATABASE_INTEGER, PATHWAY_READ
from api.services import audit, pathways

router = APIRouter()


@router.get("", responses=PATHWAY_READ, summary="A pathway's audit trail (coordinators)")
async def audit_trail(
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    pathway_id: Annotated[str, Query(pattern=r"^pathway-[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DATABASE_INTEGER)] = 0,
) -> list[schemas.AuditEntryPublic]:
    """Every read and action on the pathway, oldest first: who, when, what, and whether it was allowed."""
    await pathways.authorize_audit_read(client=client, session=session, staff=staff, pathway_id=pathway_id)
    entries = await asyncio.to_thread(audit.entries_for, session, pathway_id=pathway_id, limit=limit, offset=offset)
    return [
        schemas.AuditEntryPublic(
            at=entry.at,
            staff_id=entry.staff_id,
            pathway_id=entry.pathway_id,
            action=entry.action,
            outcome=entry.outcome,
        )
        for entry in entries
    ]
