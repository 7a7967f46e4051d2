"""Who processed a pathway's data: the audit trail, for the team's coordinators."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from api import schemas
from api.access import PathwayGrant, pathway_access
from api.routes.responses import MAX_DATABASE_INTEGER, PATHWAY_READ
from api.services import audit

router = APIRouter()


@router.get("/pathways/{pathway_id}/audit", responses=PATHWAY_READ, summary="A pathway's audit trail (coordinators)")
async def audit_trail(
    grant: Annotated[PathwayGrant, pathway_access("read_audit", coordinator_only=True, read=True)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DATABASE_INTEGER)] = 0,
) -> list[schemas.AuditEntryPublic]:
    """Every read and action on the pathway, oldest first: who, when, what, why, and whether it was allowed."""
    entries = await asyncio.to_thread(
        audit.entries_for, grant.session, pathway_id=grant.pathway_id, limit=limit, offset=offset
    )
    return [
        schemas.AuditEntryPublic(
            at=entry.at,
            staff_id=entry.staff_id,
            pathway_id=entry.pathway_id,
            action=entry.action,
            purpose=entry.purpose,
            outcome=entry.outcome,
        )
        for entry in entries
    ]
