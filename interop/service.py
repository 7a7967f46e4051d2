"""What the FHIR export route does, kept out of the route: read the pathway, check the team, audit."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.pathways import pathway_handle
from interop.fhir import pathway_bundle_json
from models.tables import AuditLogEntry, StaffRole, StaffTeam
from workflows.pathway import PathwayWorkflow

FHIR_JSON = "application/fhir+json"


class PathwayNotFound(LookupError):
    """HTTP 404."""


class ExportForbidden(PermissionError):
    """HTTP 403."""


async def export_pathway(
    client: Client, session: Session, *, staff_id: str, role: StaffRole, pathway_id: str, purpose: str | None
) -> dict[str, Any]:
    """The pathway as a FHIR Bundle (JSON), for staff of the pathway's team; the read is audited."""
    if role not in (StaffRole.PROFESSIONAL, StaffRole.COORDINATOR):
        # Admins manage staff and teams; they do not read client pathways.
        raise ExportForbidden("only the team's professionals and coordinators read its pathways")
    try:
        state = await pathway_handle(client, pathway_id).query(PathwayWorkflow.get_state)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise PathwayNotFound(f"no pathway {pathway_id}") from err
        raise
    teams = set(session.exec(select(StaffTeam.team_id).where(StaffTeam.staff_id == staff_id)).all())
    allowed = state.intake.team in teams
    session.add(
        AuditLogEntry(
            staff_id=staff_id,
            pathway_id=pathway_id,
            action="pathway.export_fhir",
            purpose=purpose,
            outcome="ok" if allowed else "forbidden",
        )
    )
    session.commit()
    if not allowed:
        raise ExportForbidden(f"pathway {pathway_id} belongs to another team")
    return pathway_bundle_json(state)
