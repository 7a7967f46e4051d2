"""Every impossible action is rejected by its validator with a reason, and changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models.pathway import (
    AddInvestigationInput,
    AssignCaseManagerInput,
    CloseInput,
    ClosureReason,
    CompleteAssessmentInput,
    CompleteInvestigationInput,
    ConfirmSustainmentInput,
    ContactChannel,
    DecideTeamReviewInput,
    IntakeInput,
    LongTermSolution,
    PathwayPolicy,
    PathwayState,
    PlannedServiceInput,
    RecordFeedbackInput,
    RecordFollowUpInput,
    RecordOutcomeInput,
    ReferralSource,
    RequestTeamReviewInput,
    ServiceKind,
    ServiceStatusChange,
    SetGoalInput,
    SetPlanInput,
    TeamReviewDecision,
    TriageInput,
    TriageRoute,
    UpdateServiceInput,
    pathway_id_for,
)
from workflows.pathway import PathwayWorkflow

from .helpers import COORDINATOR, NURSE, eventually, intake, running_worker, start

NOW = datetime.now(UTC)


def _plan(**overrides: Any) -> SetPlanInput:
    return SetPlanInput(
        actor=NURSE,
        services=[PlannedServiceInput(kind=ServiceKind.SOCIAL_WORK, provider="Social services", planned_start=NOW)],
        **overrides,
    )


async def _settled_state(handle: WorkflowHandle[Any, Any]) -> PathwayState:
    """The state once the read model has caught up (it advances in the background)."""

    async def settled() -> PathwayState | None:
        state: PathwayState = await handle.query(PathwayWorkflow.get_state)
        return state if state.recorded_event_sequence == state.last_event_sequence else None

    result: PathwayState = await eventually(settled, what="read model caught up")
    return result


async def _rejected(handle: WorkflowHandle[Any, Any], update: Any, arg: Any, reason_part: str) -> None:
    before = await _settled_state(handle)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(update, arg)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidPathwayAction"
    assert reason_part in cause.message, cause.message
    after: PathwayState = await handle.query(PathwayWorkflow.get_state)
    assert after == before


async def _accepted_update_names(handle: WorkflowHandle[Any, Any]) -> list[str]:
    names = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            names.append(event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name)
    return names


async def test_actions_before_triage_are_rejected_with_reasons(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await start(client, task_queue)
        await _rejected(
            handle,
            PathwayWorkflow.assign_case_manager,
            AssignCaseManagerInput(actor=COORDINATOR, case_manager=NURSE, reason="x"),
            "triage the pathway first",
        )
        await _rejected(handle, PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text="Goal"), "triage")
        await _rejected(
            handle,
            PathwayWorkflow.add_investigation,
            AddInvestigationInput(actor=NURSE, description="Lab"),
            "not possible at stage awaiting_triage",
        )
        await _rejected(
            handle,
            PathwayWorkflow.complete_assessment,
            CompleteAssessmentInput(actor=NURSE, summary="s", recommendation="r"),
            "not possible at stage awaiting_triage",
        )
        await _rejected(handle, PathwayWorkflow.set_plan, _plan(), "possible at: planning, in_services")
        await _rejected(
            handle,
            PathwayWorkflow.record_follow_up,
            RecordFollowUpInput(actor=NURSE, channel=ContactChannel.PHONE, note="n"),
            "needs a case manager",
        )
        await _rejected(
            handle,
            PathwayWorkflow.decide_team_review,
            DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.CONTINUE, note="n"),
            "no team review is pending",
        )
        await _rejected(
            handle,
            PathwayWorkflow.record_outcome,
            RecordOutcomeInput(actor=NURSE, solution=LongTermSolution.STUDIES, description="d"),
            "not possible at stage awaiting_triage",
        )
        await _rejected(
            handle,
            PathwayWorkflow.confirm_sustainment,
            ConfirmSustainmentInput(actor=NURSE, held=True, note="n"),
            "possible at: sustainment",
        )
        await _rejected(
            handle,
            PathwayWorkflow.update_service,
            UpdateServiceInput(actor=NURSE, service_id="nope", change=ServiceStatusChange.STARTED),
            "not possible at stage awaiting_triage",
        )
        # A rejected update never enters the pathway's history.
        assert await _accepted_update_names(handle) == []


async def test_actions_inconsistent_with_the_pathway_are_rejected(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await start(client, task_queue)
        await handle.execute_update(
            PathwayWorkflow.triage,
            TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
        )
        await _rejected(
            handle,
            PathwayWorkflow.triage,
            TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
            "triage is not possible at stage assessment",
        )
        await _rejected(
            handle,
            PathwayWorkflow.assign_case_manager,
            AssignCaseManagerInput(actor=COORDINATOR, case_manager=NURSE, reason="same"),
            "already the case manager",
        )
        await _rejected(
            handle,
            PathwayWorkflow.set_goal,
            SetGoalInput(actor=NURSE, goal_id="no-such-goal", text="Goal"),
            "no goal no-such-goal",
        )
        state = await handle.execute_update(
            PathwayWorkflow.add_investigation, AddInvestigationInput(actor=NURSE, description="Lab tests")
        )
        investigation_id = state.investigations[0].investigation_id
        await _rejected(
            handle,
            PathwayWorkflow.add_investigation,
            AddInvestigationInput(actor=NURSE, description="Late", due_at=NOW - timedelta(days=1)),
            "must be in the future",
        )
        await _rejected(
            handle,
            PathwayWorkflow.complete_assessment,
            CompleteAssessmentInput(actor=NURSE, summary="s", recommendation="r"),
            "1 investigation(s) still open",
        )
        await _rejected(
            handle,
            PathwayWorkflow.complete_investigation,
            CompleteInvestigationInput(actor=NURSE, investigation_id="nope", result_summary="r"),
            "no investigation nope",
        )
        await handle.execute_update(
            PathwayWorkflow.complete_investigation,
            CompleteInvestigationInput(actor=NURSE, investigation_id=investigation_id, result_summary="Normal"),
        )
        await _rejected(
            handle,
            PathwayWorkflow.complete_investigation,
            CompleteInvestigationInput(actor=NURSE, investigation_id=investigation_id, result_summary="again"),
            "already completed",
        )
        await _rejected(
            handle,
            PathwayWorkflow.record_follow_up,
            RecordFollowUpInput(
                actor=NURSE, channel=ContactChannel.PHONE, note="n", contacted_at=NOW + timedelta(days=2)
            ),
            "cannot be in the future",
        )
        await handle.execute_update(
            PathwayWorkflow.request_team_review, RequestTeamReviewInput(actor=NURSE, reason="Stuck")
        )
        await _rejected(
            handle,
            PathwayWorkflow.request_team_review,
            RequestTeamReviewInput(actor=NURSE, reason="Again"),
            "already pending",
        )
        await _rejected(
            handle,
            PathwayWorkflow.decide_team_review,
            DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.REVISE_PLAN, note="n"),
            "needs a completed assessment",
        )
        await handle.execute_update(
            PathwayWorkflow.complete_assessment,
            CompleteAssessmentInput(actor=NURSE, summary="s", recommendation="r"),
        )
        state = await handle.execute_update(PathwayWorkflow.set_plan, _plan())
        service_id = state.services[0].service_id
        await _rejected(
            handle,
            PathwayWorkflow.update_service,
            UpdateServiceInput(actor=NURSE, service_id=service_id, change=ServiceStatusChange.COMPLETED),
            "a planned service cannot be marked completed",
        )
        await handle.execute_update(
            PathwayWorkflow.update_service,
            UpdateServiceInput(actor=NURSE, service_id=service_id, change=ServiceStatusChange.STARTED),
        )
        await _rejected(
            handle,
            PathwayWorkflow.set_plan,
            SetPlanInput(
                actor=NURSE,
                services=[PlannedServiceInput(kind=ServiceKind.OTHER, provider="Other", planned_start=NOW)],
            ),
            "active service",
        )
        await handle.execute_update(
            PathwayWorkflow.record_outcome,
            RecordOutcomeInput(actor=NURSE, solution=LongTermSolution.EMPLOYMENT, description="Job"),
        )
        await _rejected(
            handle,
            PathwayWorkflow.confirm_sustainment,
            ConfirmSustainmentInput(actor=NURSE, held=True, note="too early"),
            "sustainment period runs until",
        )


async def test_a_closed_pathway_accepts_no_more_actions(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await start(client, task_queue)
        await handle.execute_update(
            PathwayWorkflow.close, CloseInput(actor=COORDINATOR, reason=ClosureReason.MOVED_AWAY, note="Moved")
        )
        await handle.result()
        with pytest.raises(Exception, match=r"(?i)completed"):
            await handle.execute_update(PathwayWorkflow.record_feedback, RecordFeedbackInput(actor=NURSE, rating=3))


async def test_a_client_has_one_open_pathway_and_may_start_again_after_closure(client: Client, task_queue: str) -> None:
    from temporalio.exceptions import WorkflowAlreadyStartedError

    async with running_worker(client, task_queue):
        first = intake()
        handle = await start(client, task_queue, first)
        with pytest.raises(WorkflowAlreadyStartedError):
            await start(client, task_queue, first)
        await handle.execute_update(
            PathwayWorkflow.close, CloseInput(actor=COORDINATOR, reason=ClosureReason.OTHER, note="Ended")
        )
        await handle.result()
        again = await start(client, task_queue, first)
        assert again.id == handle.id == pathway_id_for(first.client_reference)
        assert (await again.query(PathwayWorkflow.get_state)).stage.value == "awaiting_triage"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: intake(client_reference="131052-308T"), "personal identity code"),
        (lambda: intake(client_reference="x y"), "client_reference must be"),
        (
            lambda: IntakeInput(
                client_reference="client-abc1",
                team="eura-team",
                referral_source=ReferralSource.PROFESSIONAL_REFERRAL,
                reason="r",
                registered_by=COORDINATOR,
            ),
            "needs referring_organisation",
        ),
        (lambda: TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK), "must name the case_manager"),
        (
            lambda: TriageInput(actor=COORDINATOR, route=TriageRoute.EXTENDED_ASSESSMENT, case_manager=NURSE),
            "needs assessment_level",
        ),
        (lambda: TriageInput(actor=COORDINATOR, route=TriageRoute.NO_NEED), "needs redirect_note"),
        (lambda: RecordFeedbackInput(actor=NURSE, rating=6), "less than or equal to 5"),
        (
            lambda: PlannedServiceInput(
                kind=ServiceKind.OTHER, provider="p", planned_start=NOW, planned_end=NOW - timedelta(days=1)
            ),
            "planned_end must be after planned_start",
        ),
        (
            lambda: DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.CLOSE, note="n"),
            "closure_reason is given exactly when",
        ),
        (lambda: PathwayPolicy(follow_up_interval=timedelta(0)), "greater than"),
        (lambda: SetGoalInput(actor="Not A Staff Id", text="x"), "String should match pattern"),
    ],
)
def test_malformed_input_is_refused_before_it_reaches_a_pathway(make: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        make()
