"""Pathways: intake, listing, state, timeline and one route per staff action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api import schemas
from api.deps import CurrentStaff, IdempotencyKey, SessionDep, SettingsDep, TemporalClientDep
from api.routes.responses import PATHWAY_ACTION, PATHWAY_READ
from api.services import pathways
from api.services.pathways import PathwayFilters, build_input
from models.pathway import (
    ActionInput,
    AddInvestigationInput,
    AssignCaseManagerInput,
    CloseInput,
    CompleteAssessmentInput,
    CompleteInvestigationInput,
    ConfirmSustainmentInput,
    DecideTeamReviewInput,
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
    UpdateServiceInput,
)

router = APIRouter()

PathwayId = Annotated[
    str,
    Path(pattern=r"^pathway-[A-Za-z0-9][A-Za-z0-9_-]{3,63}$", description="The pathway id, e.g. pathway-client-4f2a9c"),
]
ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **PATHWAY_ACTION,
        409: {"model": schemas.ErrorBody, "description": "The client already has an open pathway."},
    },
    summary="Intake: start a client's pathway",
)
async def start_pathway(
    body: schemas.IntakeBody,
    response: Response,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
) -> schemas.PathwayReceipt:
    receipt = await pathways.start(
        client=client, session=session, staff=staff, task_queue=settings.task_queue, body=body
    )
    response.headers["Location"] = f"/pathways/{receipt.pathway_id}"
    return receipt


@router.get("", responses=PATHWAY_READ, summary="List your teams' pathways")
async def list_pathways(
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    stage: Stage | None = None,
    case_manager: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")] = None,
    team: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")] = None,
    team_review_pending: bool | None = None,
    overdue: bool | None = None,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
    page_token: Annotated[str | None, Query(max_length=2000)] = None,
) -> schemas.Page[schemas.PathwayListItem]:
    filters = PathwayFilters(
        stage=stage, case_manager=case_manager, team=team, team_review_pending=team_review_pending, overdue=overdue
    )
    return await pathways.list_pathways(
        client=client, session=session, staff=staff, filters=filters, page_size=page_size, page_token=page_token
    )


@router.get("/{pathway_id}", responses=PATHWAY_READ, summary="The pathway's full current state")
async def get_pathway(
    pathway_id: PathwayId, staff: CurrentStaff, session: SessionDep, client: TemporalClientDep
) -> PathwayState:
    return await pathways.get_state(client=client, session=session, staff=staff, pathway_id=pathway_id)


@router.get("/{pathway_id}/timeline", responses=PATHWAY_READ, summary="What happened, in order, and who did it")
async def get_timeline(
    pathway_id: PathwayId, staff: CurrentStaff, session: SessionDep, client: TemporalClientDep
) -> list[PathwayEvent]:
    return await pathways.get_timeline(client=client, session=session, staff=staff, pathway_id=pathway_id)


# -- actions: each builds the workflow input with the signed-in staff member as actor ----------------------


async def _act(
    action: ActionInput,
    pathway_id: str,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: str | None,
) -> PathwayView:
    return await pathways.act(
        client=client,
        session=session,
        staff=staff,
        pathway_id=pathway_id,
        action=action,
        idempotency_key=idempotency_key,
    )


@router.post("/{pathway_id}/triage", responses=PATHWAY_ACTION, summary="Team triage: route and case manager")
async def triage(
    pathway_id: PathwayId,
    body: schemas.TriageBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(TriageInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post(
    "/{pathway_id}/case-manager", responses=PATHWAY_ACTION, summary="Hand over to a new case manager (coordinators)"
)
async def assign_case_manager(
    pathway_id: PathwayId,
    body: schemas.AssignCaseManagerBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(AssignCaseManagerInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/goals", responses=PATHWAY_ACTION, summary="Add or update the client's own goal")
async def set_goal(
    pathway_id: PathwayId,
    body: schemas.SetGoalBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(SetGoalInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/investigations", responses=PATHWAY_ACTION, summary="Order an investigation")
async def add_investigation(
    pathway_id: PathwayId,
    body: schemas.AddInvestigationBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(AddInvestigationInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post(
    "/{pathway_id}/investigations/{investigation_id}/complete",
    responses=PATHWAY_ACTION,
    summary="Record an investigation's result",
)
async def complete_investigation(
    pathway_id: PathwayId,
    investigation_id: ItemId,
    body: schemas.CompleteInvestigationBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(CompleteInvestigationInput, body, actor=staff.staff_id, investigation_id=investigation_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/assessment", responses=PATHWAY_ACTION, summary="Complete the assessment")
async def complete_assessment(
    pathway_id: PathwayId,
    body: schemas.CompleteAssessmentBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(CompleteAssessmentInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/plan", responses=PATHWAY_ACTION, summary="Set or revise the follow-up plan")
async def set_plan(
    pathway_id: PathwayId,
    body: schemas.SetPlanBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(SetPlanInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post(
    "/{pathway_id}/services/{service_id}",
    responses=PATHWAY_ACTION,
    summary="Report a planned service started, completed, interrupted or cancelled",
)
async def update_service(
    pathway_id: PathwayId,
    service_id: ItemId,
    body: schemas.UpdateServiceBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(UpdateServiceInput, body, actor=staff.staff_id, service_id=service_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/follow-ups", responses=PATHWAY_ACTION, summary="Record a follow-up contact")
async def record_follow_up(
    pathway_id: PathwayId,
    body: schemas.RecordFollowUpBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(RecordFollowUpInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/team-review", responses=PATHWAY_ACTION, summary="Bring the case back to the team")
async def request_team_review(
    pathway_id: PathwayId,
    body: schemas.RequestTeamReviewBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(RequestTeamReviewInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post(
    "/{pathway_id}/team-review/decision",
    responses=PATHWAY_ACTION,
    summary="Decide the pending team review (coordinators)",
)
async def decide_team_review(
    pathway_id: PathwayId,
    body: schemas.DecideTeamReviewBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(DecideTeamReviewInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/outcome", responses=PATHWAY_ACTION, summary="Record the long-term solution")
async def record_outcome(
    pathway_id: PathwayId,
    body: schemas.RecordOutcomeBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(RecordOutcomeInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post(
    "/{pathway_id}/sustainment/confirm",
    responses=PATHWAY_ACTION,
    summary="Confirm whether the long-term solution held",
)
async def confirm_sustainment(
    pathway_id: PathwayId,
    body: schemas.ConfirmSustainmentBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(ConfirmSustainmentInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/close", responses=PATHWAY_ACTION, summary="Close the pathway")
async def close(
    pathway_id: PathwayId,
    body: schemas.CloseBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(CloseInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)


@router.post("/{pathway_id}/feedback", responses=PATHWAY_ACTION, summary="Record the client's feedback")
async def record_feedback(
    pathway_id: PathwayId,
    body: schemas.RecordFeedbackBody,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> PathwayView:
    action = build_input(RecordFeedbackInput, body, actor=staff.staff_id)
    return await _act(action, pathway_id, staff, session, client, idempotency_key)
