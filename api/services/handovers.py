"""Handing a case manager's pathways to others in one request, when someone leaves or is long absent.

Each pathway gets its own hand-over proposal (the `assign_case_manager` update, pending until the new case
manager accepts it), its own audit line and its own result: one pathway refused (it closed meanwhile, a
hand-over to the same person is already pending) never stops the others. The request's Idempotency-Key
makes each pathway's update id, so a retried request proposes nothing twice.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlmodel import Session, col, select
from temporalio.client import Client

from api.access import authorize_pathway
from api.errors import ApiError, ConflictError, ForbiddenError, InvalidInputError, TemporalUnavailableError
from api.schemas import HandoverOutcome, HandoverRequest, HandoverResult, HandoverResults
from api.services.audit import AuditOutcome
from api.services.pathways import WORKER_ANSWER_SECONDS
from api.services.staff import StaffMember, check_case_manager
from api.services.temporal_errors import translated
from models.actions import AssignCaseManager
from models.tables import AuditLogEntry, PathwayRow
from workflows.actions import action_for
from workflows.client import act, pathway_handle

# Hand-overs proposed at the same time: each is one update on its own pathway.
CONCURRENT_HANDOVERS = 8
BULK_PURPOSE = "hand-over of a case manager's pathways in one request"


def _plan(
    session: Session, staff: StaffMember, team: str, request: HandoverRequest
) -> tuple[list[tuple[str, str]], set[str], dict[str, PathwayRow | None]]:
    """(pathway id, new case manager) for every pathway the request names, checked before anything changes;
    the handing-over case manager's open pathways of the team; the rows of the pathways named."""
    if not staff.is_coordinator or team not in staff.teams:
        raise ForbiddenError(f"only a coordinator of team {team} can hand its pathways over")
    open_ones = list(
        session.scalars(
            select(col(PathwayRow.pathway_id))
            .where(
                col(PathwayRow.team) == team,
                col(PathwayRow.case_manager) == request.from_case_manager,
                col(PathwayRow.closed_at).is_(None),
            )
            .order_by(col(PathwayRow.opened_at))
        )
    )
    if request.assignments is not None:
        wanted = [(a.pathway_id, a.to_case_manager) for a in request.assignments]
    else:
        assert request.to_case_manager is not None
        chosen = request.pathway_ids if request.pathway_ids is not None else open_ones
        wanted = [(pathway_id, request.to_case_manager) for pathway_id in chosen]
    for index, new in enumerate(sorted({new for _, new in wanted})):
        if new == request.from_case_manager:
            raise InvalidInputError("the new case manager is the one handing over", field="to_case_manager")
        check_case_manager(session, staff_id=new, team=team, field="to_case_manager" if index == 0 else "assignments")
    if not wanted:
        raise InvalidInputError(
            f"{request.from_case_manager} is case manager of no open pathway of team {team}", field="from_case_manager"
        )
    rows = {pathway_id: session.get(PathwayRow, pathway_id) for pathway_id, _ in wanted}
    return wanted, set(open_ones), rows


async def hand_over_many(
    *,
    client: Client,
    session: Session,
    staff: StaffMember,
    team: str,
    request: HandoverRequest,
    idempotency_key: str | None,
) -> HandoverResults:
    wanted, open_ones, rows = await asyncio.to_thread(_plan, session, staff, team, request)
    key = idempotency_key or str(uuid.uuid4())
    action = action_for(AssignCaseManager)
    gate = asyncio.Semaphore(CONCURRENT_HANDOVERS)

    async def one(pathway_id: str, new: str) -> HandoverResult:
        async with gate:
            try:
                authorize_pathway(staff, rows[pathway_id], pathway_id, coordinator_only=True)
                if pathway_id not in open_ones:
                    raise ConflictError(
                        f"{request.from_case_manager} is not the case manager of open pathway {pathway_id}"
                    )
                async with translated(pathway_id), asyncio.timeout(WORKER_ANSWER_SECONDS):
                    answer = await act(
                        pathway_handle(client, pathway_id),
                        action,
                        actor=staff.staff_id,
                        fields=AssignCaseManager(case_manager=new, reason=request.reason),
                        update_id=f"{key}:{pathway_id}",
                    )
            except TemporalUnavailableError as err:
                return HandoverResult(
                    pathway_id=pathway_id, to_case_manager=new, outcome=HandoverOutcome.FAILED, detail=err.detail
                )
            except ApiError as err:
                return HandoverResult(
                    pathway_id=pathway_id, to_case_manager=new, outcome=HandoverOutcome.REFUSED, detail=err.detail
                )
            return HandoverResult(
                pathway_id=pathway_id, to_case_manager=new, outcome=HandoverOutcome.PROPOSED, answer=answer
            )

    results = list(await asyncio.gather(*(one(pathway_id, new) for pathway_id, new in wanted)))
    await asyncio.to_thread(_audit_all, session, staff, action.name, results)
    return HandoverResults(
        proposed=sum(r.outcome is HandoverOutcome.PROPOSED for r in results),
        refused=sum(r.outcome is HandoverOutcome.REFUSED for r in results),
        failed=sum(r.outcome is HandoverOutcome.FAILED for r in results),
        results=results,
    )


_AUDIT_OUTCOMES = {
    HandoverOutcome.PROPOSED: AuditOutcome.OK,
    HandoverOutcome.REFUSED: AuditOutcome.REJECTED,
    HandoverOutcome.FAILED: AuditOutcome.UNAVAILABLE,
}


def _audit_all(session: Session, staff: StaffMember, action: str, results: list[HandoverResult]) -> None:
    """One line per pathway, with its own outcome, in one commit."""
    session.add_all(
        AuditLogEntry(
            staff_id=staff.staff_id,
            pathway_id=result.pathway_id,
            action=action,
            purpose=BULK_PURPOSE,
            outcome=_AUDIT_OUTCOMES[result.outcome].value,
        )
        for result in results
    )
    session.commit()
