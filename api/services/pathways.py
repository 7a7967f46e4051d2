"""Starting, reading and acting on pathways for the signed-in staff member.

Every function checks the staff member's role and team against the pathway's team and writes one audit
line per pathway touched, whatever the outcome. The team comes from the pathway directory the API writes
at intake (one database read, no Temporal round trip); a pathway missing there, opened before the
directory existed or outside the API, is looked up once in its own search attributes and entered.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session, SQLModel
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from api.errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    TemporalUnavailableError,
)
from api.schemas import IntakeBody, Page, PathwayListItem, PathwayReceipt, PendingTeamReview
from api.services import audit
from api.services.audit import AuditOutcome
from api.services.staff import StaffMember, check_case_manager
from api.services.temporal_errors import translated
from core.pathways import pathway_handle, start_pathway
from models.pathway import (
    ActionInput,
    AddInvestigationInput,
    AssignCaseManagerInput,
    CloseInput,
    CompleteAssessmentInput,
    CompleteInvestigationInput,
    ConfirmSustainmentInput,
    DeadlineKind,
    DecideTeamReviewInput,
    IntakeInput,
    PathwayEvent,
    PathwayState,
    PathwayView,
    RecordFeedbackInput,
    RecordFollowUpInput,
    RecordOutcomeInput,
    RequestTeamReviewInput,
    SetGoalInput,
    SetPlanInput,
    Stage,
    TriageInput,
    TriageRoute,
    UpdateServiceInput,
    pathway_id_for,
)
from models.tables import PathwayDirectoryEntry
from workflows import search_attributes as sa
from workflows.pathway import PathwayWorkflow

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class _Update:
    audit_action: str
    update: Any  # the PathwayWorkflow update method
    coordinator_only: bool = False


# One entry per staff action; reassignment and team-review decisions are the coordinators'.
UPDATES: dict[type[ActionInput], _Update] = {
    TriageInput: _Update("triage", PathwayWorkflow.triage),
    AssignCaseManagerInput: _Update("assign_case_manager", PathwayWorkflow.assign_case_manager, True),
    SetGoalInput: _Update("set_goal", PathwayWorkflow.set_goal),
    AddInvestigationInput: _Update("add_investigation", PathwayWorkflow.add_investigation),
    CompleteInvestigationInput: _Update("complete_investigation", PathwayWorkflow.complete_investigation),
    CompleteAssessmentInput: _Update("complete_assessment", PathwayWorkflow.complete_assessment),
    SetPlanInput: _Update("set_plan", PathwayWorkflow.set_plan),
    UpdateServiceInput: _Update("update_service", PathwayWorkflow.update_service),
    RecordFollowUpInput: _Update("record_follow_up", PathwayWorkflow.record_follow_up),
    RequestTeamReviewInput: _Update("request_team_review", PathwayWorkflow.request_team_review),
    DecideTeamReviewInput: _Update("decide_team_review", PathwayWorkflow.decide_team_review, True),
    RecordOutcomeInput: _Update("record_outcome", PathwayWorkflow.record_outcome),
    ConfirmSustainmentInput: _Update("confirm_sustainment", PathwayWorkflow.confirm_sustainment),
    CloseInput: _Update("close", PathwayWorkflow.close),
    RecordFeedbackInput: _Update("record_feedback", PathwayWorkflow.record_feedback),
}

# How long a request waits for the pathway's worker to answer a query or an update. Without a worker an
# update would wait indefinitely; with an Idempotency-Key a retry picks up the first attempt's result.
WORKER_ANSWER_SECONDS = 30.0
ADMIN_NO_PATHWAYS = "administrators manage staff and teams and do not read or act on client pathways"
# Bounds for the listings answered in one response (caseload, team reviews).
MAX_LISTED = 500
_TEAM_REVIEW_QUERIES_AT_ONCE = 10


# -- building inputs ----------------------------------------------------------------------------------


def build_input(model: type[M], body: BaseModel, *, exclude: frozenset[str] = frozenset(), **extra: Any) -> M:
    """The workflow input from a request body plus what the API fills in (actor, path ids)."""
    try:
        return model.model_validate({**body.model_dump(exclude=set(exclude)), **extra})
    except ValidationError as err:
        reasons = "; ".join(error["msg"].removeprefix("Value error, ") for error in err.errors())
        raise InvalidInputError(reasons, field="body") from err


# -- audit and access ----------------------------------------------------------------------------------


_OUTCOMES: tuple[tuple[type[ApiError], AuditOutcome], ...] = (
    (ForbiddenError, AuditOutcome.DENIED),
    (NotFoundError, AuditOutcome.NOT_FOUND),
    (ConflictError, AuditOutcome.REJECTED),
    (InvalidInputError, AuditOutcome.INVALID),
    (TemporalUnavailableError, AuditOutcome.UNAVAILABLE),
)


@dataclass
class _OnSuccess:
    """What a request writes only if it succeeds, in the same commit as its audit line."""

    listed: list[str] = field(default_factory=list)  # pathway ids a listing showed
    upserts: list[SQLModel] = field(default_factory=list)


@asynccontextmanager
async def audited(
    session: Session, staff: StaffMember, pathway_id: str | None, action: str
) -> AsyncIterator[_OnSuccess]:
    """One audit line for what the block does, with the outcome its error (if any) stands for."""
    # Database writes leave the event loop: a busy SQLite file must not stall other requests.
    on_success = _OnSuccess()
    try:
        yield on_success
    except Exception as err:
        outcome = next((o for kind, o in _OUTCOMES if isinstance(err, kind)), AuditOutcome.ERROR)
        await asyncio.to_thread(
            audit.record, session, staff_id=staff.staff_id, pathway_id=pathway_id, action=action, outcome=outcome
        )
        raise
    await asyncio.to_thread(
        audit.record,
        session,
        staff_id=staff.staff_id,
        pathway_id=pathway_id,
        action=action,
        outcome=AuditOutcome.OK,
        listed=on_success.listed,
        upserts=on_success.upserts,
    )


def _require_pathway_reader(staff: StaffMember) -> None:
    if staff.is_admin:
        raise ForbiddenError(ADMIN_NO_PATHWAYS)


async def _team_of(client: Client, session: Session, pathway_id: str, on_success: _OnSuccess) -> str | None:
    """The pathway's team from the directory, else from its search attributes (then entered on success)."""
    entry = await asyncio.to_thread(session.get, PathwayDirectoryEntry, pathway_id)
    if entry is not None:
        return entry.team
    async with translated(pathway_id):
        description = await pathway_handle(client, pathway_id).describe()
    team = description.typed_search_attributes.get(sa.PATHWAY_TEAM)
    if team is not None:
        on_success.upserts.append(PathwayDirectoryEntry(pathway_id=pathway_id, team=team))
    return team


async def _authorize(
    client: Client,
    session: Session,
    staff: StaffMember,
    pathway_id: str,
    on_success: _OnSuccess,
    *,
    coordinator_only: bool = False,
) -> str:
    """The pathway's team, if the staff member may read or act on it."""
    _require_pathway_reader(staff)
    team = await _team_of(client, session, pathway_id, on_success)
    if team is None or team not in staff.teams:
        raise ForbiddenError(f"pathway {pathway_id} is not on your team(s); you act only on your own teams' pathways")
    if coordinator_only and not staff.is_coordinator:
        raise ForbiddenError("only a coordinator of the pathway's team can do this")
    return team


async def authorize_audit_read(*, client: Client, session: Session, staff: StaffMember, pathway_id: str) -> None:
    """Coordinators of the pathway's team may read its audit trail; reading it is audited too."""
    async with audited(session, staff, pathway_id, "read_audit") as on_success:
        await _authorize(client, session, staff, pathway_id, on_success, coordinator_only=True)


# -- start, read, act ----------------------------------------------------------------------------------


async def start(
    *, client: Client, session: Session, staff: StaffMember, task_queue: str, body: IntakeBody
) -> PathwayReceipt:
    """Intake: start the client's pathway on the given team; at most one open pathway per client.

    Answers as soon as Temporal has the pathway: the worker's first step (team notification, read model)
    follows on its own, and GET /pathways/{id} shows the state.
    """
    pathway_id = pathway_id_for(body.client_reference)
    async with audited(session, staff, pathway_id, "start") as on_success:
        _require_pathway_reader(staff)
        if body.team not in staff.teams:
            raise ForbiddenError(f"you can register referrals only to your own team(s), not to {body.team}")
        if body.policy is not None and not body.demo:
            raise InvalidInputError("policy can be given only for a demo pathway (demo: true)", field="policy")
        intake = build_input(IntakeInput, body, exclude=frozenset({"policy"}), registered_by=staff.staff_id)
        registered_at = datetime.now(UTC)
        async with translated(pathway_id):
            await start_pathway(client, task_queue, intake, body.policy)
        # The client's next pathway after closure reuses the id and may be on another team: overwrite.
        on_success.upserts.append(PathwayDirectoryEntry(pathway_id=pathway_id, team=body.team))
    return PathwayReceipt(
        pathway_id=pathway_id,
        team=body.team,
        stage=Stage.AWAITING_TRIAGE,
        registered_by=staff.staff_id,
        registered_at=registered_at,
        demo=body.demo,
    )


async def get_state(*, client: Client, session: Session, staff: StaffMember, pathway_id: str) -> PathwayState:
    """The pathway's full current state."""
    async with audited(session, staff, pathway_id, "read_state") as on_success:
        await _authorize(client, session, staff, pathway_id, on_success)
        async with translated(pathway_id), asyncio.timeout(WORKER_ANSWER_SECONDS):
            return await pathway_handle(client, pathway_id).query(PathwayWorkflow.get_state)


async def get_timeline(*, client: Client, session: Session, staff: StaffMember, pathway_id: str) -> list[PathwayEvent]:
    """What happened on the pathway, in order, and who did it."""
    async with audited(session, staff, pathway_id, "read_timeline") as on_success:
        await _authorize(client, session, staff, pathway_id, on_success)
        async with translated(pathway_id), asyncio.timeout(WORKER_ANSWER_SECONDS):
            return await pathway_handle(client, pathway_id).query(PathwayWorkflow.get_timeline)


def _named_case_manager(action: ActionInput) -> tuple[str, str] | None:
    if isinstance(action, TriageInput | AssignCaseManagerInput) and action.case_manager:
        return action.case_manager, "case_manager"
    if isinstance(action, DecideTeamReviewInput) and action.new_case_manager:
        return action.new_case_manager, "new_case_manager"
    return None


async def act(
    *,
    client: Client,
    session: Session,
    staff: StaffMember,
    pathway_id: str,
    action: ActionInput,
    idempotency_key: str | None,
) -> PathwayView:
    """Run one staff action as a workflow update; a repeated idempotency key applies it once.

    A closed pathway is not checked for here: Temporal refuses the update ("already completed"), which
    `translated` answers as 409, so an open pathway costs no extra round trip.
    """
    spec = UPDATES[type(action)]
    assert action.actor == staff.staff_id, "the actor comes from the token"
    async with audited(session, staff, pathway_id, spec.audit_action) as on_success:
        team = await _authorize(client, session, staff, pathway_id, on_success, coordinator_only=spec.coordinator_only)
        named = _named_case_manager(action)
        if named is not None:
            await asyncio.to_thread(check_case_manager, session, staff_id=named[0], team=team, field=named[1])
        # The update id makes Temporal apply a retried request once and answer it with the first result.
        update_id = idempotency_key or str(uuid.uuid4())
        async with translated(pathway_id), asyncio.timeout(WORKER_ANSWER_SECONDS):
            view: PathwayView = await pathway_handle(client, pathway_id).execute_update(
                spec.update, action, id=update_id
            )
        return view


# -- listings from Temporal visibility ---------------------------------------------------------------------

# Values go into a visibility query only after validation and only if they are made of these characters;
# nothing a client sends is ever pasted into the query as is.
_SAFE_LITERAL = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _literal(value: str) -> str:
    if not _SAFE_LITERAL.match(value):
        raise InvalidInputError(f"{value!r} cannot be used as a filter value", field="query")
    return f"'{value}'"


def _team_clause(teams: list[str]) -> str:
    return f"{sa.PATHWAY_TEAM.name} IN ({', '.join(_literal(team) for team in sorted(teams))})"


@dataclass(frozen=True)
class PathwayFilters:
    stage: Stage | None = None
    case_manager: str | None = None
    team: str | None = None
    team_review_pending: bool | None = None
    overdue: bool | None = None


def visibility_query(filters: PathwayFilters, teams: list[str], *, running_only: bool = False) -> str:
    """A visibility query for the staff member's teams with the given filters."""
    clauses = [
        f"WorkflowType = {_literal(PathwayWorkflow.__name__)}",
        # Earlier runs of a pathway that continued as new are not pathways of their own.
        "ExecutionStatus != 'ContinuedAsNew'",
        _team_clause(teams),
    ]
    if running_only:
        clauses.append("ExecutionStatus = 'Running'")
    if filters.stage is not None:
        clauses.append(f"{sa.PATHWAY_STAGE.name} = {_literal(filters.stage.value)}")
    if filters.case_manager is not None:
        clauses.append(f"{sa.CASE_MANAGER.name} = {_literal(filters.case_manager)}")
    if filters.team_review_pending is not None:
        clauses.append(f"{sa.TEAM_REVIEW_PENDING.name} = {'true' if filters.team_review_pending else 'false'}")
    if filters.overdue is not None:
        clauses.append(f"{sa.PATHWAY_OVERDUE.name} = {'true' if filters.overdue else 'false'}")
    return " AND ".join(clauses)


async def count_open_pathways_managed_by(client: Client, staff_id: str) -> int:
    """Open pathways, on any team, that name `staff_id` as their case manager."""
    query = " AND ".join(
        [
            f"WorkflowType = {_literal(PathwayWorkflow.__name__)}",
            "ExecutionStatus = 'Running'",
            f"{sa.CASE_MANAGER.name} = {_literal(staff_id)}",
        ]
    )
    return (await client.count_workflows(query)).count


def _enum_or_none(enum: type[E], value: str | None) -> E | None:
    try:
        return enum(value) if value is not None else None
    except ValueError:
        return None


def _list_item(execution: WorkflowExecution) -> PathwayListItem:
    attributes = execution.typed_search_attributes
    return PathwayListItem(
        pathway_id=execution.id,
        stage=_enum_or_none(Stage, attributes.get(sa.PATHWAY_STAGE)),
        team=attributes.get(sa.PATHWAY_TEAM),
        case_manager=attributes.get(sa.CASE_MANAGER),
        route=_enum_or_none(TriageRoute, attributes.get(sa.TRIAGE_ROUTE)),
        team_review_pending=bool(attributes.get(sa.TEAM_REVIEW_PENDING)),
        overdue=bool(attributes.get(sa.PATHWAY_OVERDUE)),
        next_deadline_at=attributes.get(sa.NEXT_DEADLINE),
        next_deadline_kind=_enum_or_none(DeadlineKind, attributes.get(sa.NEXT_DEADLINE_KIND)),
        started_at=execution.start_time,
        demo=bool(attributes.get(sa.DEMO_DATA)),
    )


def _decode_page_token(page_token: str | None) -> bytes | None:
    if not page_token:
        return None
    try:
        return base64.urlsafe_b64decode(page_token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as err:
        raise InvalidInputError("page_token is not a token this API handed out", field="page_token") from err


def _visible_teams(staff: StaffMember, team: str | None) -> list[str]:
    _require_pathway_reader(staff)
    if team is None:
        if not staff.teams:
            raise ForbiddenError("you belong to no team, so no pathways are visible to you")
        return sorted(staff.teams)
    if team not in staff.teams:
        raise ForbiddenError(f"you see only your own teams' pathways, not team {team}'s")
    return [team]


async def list_pathways(
    *,
    client: Client,
    session: Session,
    staff: StaffMember,
    filters: PathwayFilters,
    page_size: int,
    page_token: str | None,
) -> Page[PathwayListItem]:
    """One page of the staff member's teams' pathways matching the filters, from Temporal visibility."""
    async with audited(session, staff, None, "list_pathways") as on_success:
        query = visibility_query(filters, _visible_teams(staff, filters.team))
        iterator = client.list_workflows(query, page_size=page_size, next_page_token=_decode_page_token(page_token))
        try:
            async with translated():
                await iterator.fetch_next_page(page_size=page_size)
        except RPCError as err:
            # The token is opaque to us; the visibility store fails on one it did not issue (found by fuzzing).
            if page_token and err.status in (RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL):
                raise InvalidInputError("page_token is not a token this API handed out", field="page_token") from err
            raise
        items = [_list_item(execution) for execution in iterator.current_page or []]
        token = iterator.next_page_token
        on_success.listed = [item.pathway_id for item in items]
    return Page(items=items, next_page_token=base64.urlsafe_b64encode(token).decode("ascii") if token else None)


async def _all_matching(client: Client, query: str) -> list[WorkflowExecution]:
    async with translated():
        return [execution async for execution in client.list_workflows(query, limit=MAX_LISTED, page_size=100)]


async def caseload(*, client: Client, session: Session, staff: StaffMember) -> list[PathwayListItem]:
    """The open pathways the staff member is case manager of, soonest deadline first."""
    async with audited(session, staff, None, "read_caseload") as on_success:
        filters = PathwayFilters(case_manager=staff.staff_id)
        query = visibility_query(filters, _visible_teams(staff, None), running_only=True)
        items = [_list_item(execution) for execution in await _all_matching(client, query)]
        # Visibility on SQL stores cannot order by a custom attribute, so sort here: no deadline goes last.
        items.sort(key=lambda item: (item.next_deadline_at is None, item.next_deadline_at or item.started_at))
        on_success.listed = [item.pathway_id for item in items]
    return items


async def pending_team_reviews(
    *, client: Client, session: Session, staff: StaffMember, team: str | None
) -> list[PendingTeamReview]:
    """The team's pending team-review items, oldest first."""
    async with audited(session, staff, None, "read_team_reviews") as on_success:
        filters = PathwayFilters(team_review_pending=True)
        query = visibility_query(filters, _visible_teams(staff, team), running_only=True)
        executions = await _all_matching(client, query)
        limit = asyncio.Semaphore(_TEAM_REVIEW_QUERIES_AT_ONCE)

        async def state_of(pathway_id: str) -> PathwayState | None:
            async with limit:
                try:
                    async with translated(pathway_id), asyncio.timeout(WORKER_ANSWER_SECONDS):
                        return await pathway_handle(client, pathway_id).query(PathwayWorkflow.get_state)
                except (NotFoundError, ConflictError):
                    return None  # closed or gone since the listing

        states = await asyncio.gather(*(state_of(execution.id) for execution in executions))
        reviews = [
            PendingTeamReview(
                pathway_id=state.pathway_id,
                team=state.intake.team,
                review_id=review.review_id,
                cause=review.cause,
                opened_by=review.opened_by,
                opened_at=review.opened_at,
                case_manager=state.case_manager,
                stage=state.stage,
            )
            for state in states
            if state is not None
            for review in state.pending_team_reviews()
        ]
        reviews.sort(key=lambda review: review.opened_at)
        on_success.listed = sorted({review.pathway_id for review in reviews})
    return reviews
