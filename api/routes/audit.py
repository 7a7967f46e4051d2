"""Who processed a pathway's data: a pathway's audit trail for the team's coordinators, and the whole log for
the data protection officer's monitoring (`api.services.audit_monitoring`)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from api import schemas
from api.access import PathwayGrant, audited, pathway_access
from api.deps import CurrentDataProtectionOfficer, SessionDep
from api.errors import InvalidInputError
from api.routes.responses import AUTHENTICATED, MAX_DATABASE_INTEGER, PATHWAY_READ
from api.services import audit, audit_monitoring
from api.services.audit import AuditOutcome
from api.services.audit_monitoring import AuditFilter
from models.actions import ACTOR_PATTERN
from models.tables import AuditLogEntry

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
    return [_public(entry) for entry in entries]


# -- log monitoring across teams (the data protection officer) ------------------------------------------------

MONITORING = "monitor_audit_log"
StaffIdFilter = Annotated[
    str | None, Query(pattern=ACTOR_PATTERN, description="Lines of this staff member (or `partner:<id>`).")
]
PathwayIdFilter = Annotated[str | None, Query(max_length=100, description="Lines about this pathway.")]
ActionFilter = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z][a-z0-9_.:/-]{1,99}$",
        description="An action, or its family: `read` finds read_record ..., `update_partner` every partner change, "
        "`codec` the Web UI's decodes.",
    ),
]
OutcomeFilter = Annotated[AuditOutcome | None, Query(description="ok, denied, not_found ...")]
Since = Annotated[datetime | None, Query(description="From this moment (ISO 8601 with a zone).")]
Until = Annotated[datetime | None, Query(description="Until this moment, not included.")]


def _filter(
    staff_id: StaffIdFilter = None,
    pathway_id: PathwayIdFilter = None,
    action: ActionFilter = None,
    outcome: OutcomeFilter = None,
    since: Since = None,
    until: Until = None,
) -> AuditFilter:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInputError(f"{name} needs a time zone (e.g. 2026-12-01T00:00:00+02:00)", field=name)
    if since is not None and until is not None and until <= since:
        raise InvalidInputError("until must be after since", field="until")
    return AuditFilter(
        staff_id=staff_id,
        pathway_id=pathway_id,
        action=action,
        outcome=outcome.value if outcome else None,
        since=since,
        until=until,
    )


FilterDep = Annotated[AuditFilter, Depends(_filter)]
DPO_ONLY = AUTHENTICATED  # 422 is FastAPI's own validation shape, which InvalidInputError answers too


@router.get("/audit", responses=DPO_ONLY, summary="The audit log across teams (the data protection officer)")
async def audit_log(
    officer: CurrentDataProtectionOfficer,  # first: who asks is checked before what they ask
    where: FilterDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DATABASE_INTEGER)] = 0,
) -> schemas.AuditLogPage:
    """Who read or did what to which pathway, when, why and with what outcome; newest first. No client data:
    staff ids, pseudonymous pathway ids, action names, purposes and outcomes. The officer's reads are audited."""
    async with audited(session, officer, MONITORING):
        total, lines = await asyncio.to_thread(audit_monitoring.entries, session, where, limit=limit, offset=offset)
    return schemas.AuditLogPage(total=total, entries=[_public(entry) for entry in lines])


@router.get(
    "/audit/export.csv",
    responses={**DPO_ONLY, 200: {"content": {"text/csv": {}}, "description": "The matching lines, oldest first."}},
    response_class=StreamingResponse,
    summary="The audit log's matching lines as CSV (the data protection officer)",
)
async def audit_log_csv(officer: CurrentDataProtectionOfficer, where: FilterDep, session: SessionDep) -> Response:
    async with audited(session, officer, f"{MONITORING}_csv"):
        pass
    return StreamingResponse(
        iterate_in_threadpool(audit_monitoring.csv_lines(session, where)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


@router.get(
    "/audit/signals",
    responses=DPO_ONLY,
    summary="Patterns in the audit log worth a look, most telling first (the data protection officer)",
)
async def audit_signals(
    officer: CurrentDataProtectionOfficer,
    session: SessionDep,
    since: Since = None,
    until: Until = None,
) -> list[schemas.AuditSignalPublic]:
    """Refused attempts, members reading many pathways that are not their own case, and reads at night
    (Finnish time), over the period (the last 30 days unless given; at most 92 days)."""
    where = _filter(since=since, until=until)
    end = where.until or datetime.now(UTC)
    start = where.since or end - timedelta(days=30)
    async with audited(session, officer, f"{MONITORING}_signals"):
        found = await asyncio.to_thread(audit_monitoring.signals, session, since=start, until=end)
    return [schemas.AuditSignalPublic(**dataclasses.asdict(signal)) for signal in found]


def _public(entry: AuditLogEntry) -> schemas.AuditEntryPublic:
    return schemas.AuditEntryPublic(
        at=entry.at,
        staff_id=entry.staff_id,
        pathway_id=entry.pathway_id,
        action=entry.action,
        purpose=entry.purpose,
        outcome=entry.outcome,
    )
