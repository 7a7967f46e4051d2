"""Property-based: any sequence of staff actions leaves a pathway valid, and a rejected action changes nothing.

Hypothesis draws sequences of staff actions (the update inputs of models/pathway.py, with references to
goals, investigations and services that exist, or do not). Each sequence runs against a real pathway on
the dev server, with encryption on. Default (production) durations, so no timer fires while it runs and
every state change comes from the actions themselves.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.pathway import (
    ENDED_SERVICE_STATUSES,
    AddInvestigationInput,
    AssessmentLevel,
    AssignCaseManagerInput,
    CloseInput,
    ClosureReason,
    CompleteAssessmentInput,
    CompleteInvestigationInput,
    ConfirmSustainmentInput,
    ContactChannel,
    DecideTeamReviewInput,
    InvestigationStatus,
    LongTermSolution,
    PathwayState,
    PathwayView,
    PlannedServiceInput,
    RecordFeedbackInput,
    RecordFollowUpInput,
    RecordOutcomeInput,
    RequestTeamReviewInput,
    ServiceKind,
    ServiceStatus,
    ServiceStatusChange,
    SetGoalInput,
    SetPlanInput,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TriageInput,
    TriageRoute,
    UpdateServiceInput,
)
from tests.workflows.helpers import COORDINATOR, NURSE, PHYSICIAN, SOCIAL_WORKER, intake, running_worker, start
from workflows.pathway import MAX_GOALS, MAX_INVESTIGATIONS, PathwayWorkflow

from .conftest import FileServer, KeyMaterial, client_reference

STAFF = [NURSE, SOCIAL_WORKER, PHYSICIAN]
Reference = Literal["existing", "unknown"]
Moment = Literal["none", "at_referral", "before_referral", "future"]


# --------------------------------------------------------------------------------------------------
# Staff actions: drawn abstractly, made concrete against the pathway's current state
# --------------------------------------------------------------------------------------------------


def _pick(ids: list[str], reference: Reference, index: int) -> str:
    if reference == "unknown" or not ids:
        return f"unknown-{index}"
    return ids[index % len(ids)]


def _moment(state: PathwayState, moment: Moment) -> datetime | None:
    return {
        "none": None,
        "at_referral": state.referred_at,
        "before_referral": state.referred_at - timedelta(days=1),
        "future": datetime.now(UTC) + timedelta(days=1),
    }[moment]


@dataclass(frozen=True)
class Action:
    """One staff action; `concrete` gives the update and its input for the pathway as it is now."""

    name: str
    params: tuple[Any, ...]

    def __repr__(self) -> str:
        return f"{self.name}{self.params!r}"

    def concrete(self, state: PathwayState) -> tuple[Any, Any]:
        return _BUILDERS[self.name](state, *self.params)


def _triage(state: PathwayState, route: TriageRoute, level: AssessmentLevel, staff: str, note: str) -> tuple[Any, Any]:
    if route is TriageRoute.NO_NEED:
        return PathwayWorkflow.triage, TriageInput(actor=COORDINATOR, route=route, redirect_note=note)
    return PathwayWorkflow.triage, TriageInput(
        actor=COORDINATOR,
        route=route,
        assessment_level=level if route is TriageRoute.EXTENDED_ASSESSMENT else None,
        case_manager=staff,
        note=note,
    )


def _set_goal(state: PathwayState, reference: Reference | None, index: int, text: str, achieved: bool):
    goal_id = None if reference is None else _pick([g.goal_id for g in state.goals], reference, index)
    return PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, goal_id=goal_id, text=text, achieved=achieved)


def _set_plan(state: PathwayState, services: list[tuple[ServiceKind, Reference | None, int]], weeks: int | None):
    now = datetime.now(UTC)
    existing = [s.service_id for s in state.services]
    planned: list[PlannedServiceInput] = []
    kept: set[str] = set()
    for kind, reference, index in services:
        service_id = None if reference is None else _pick(existing, reference, index)
        if service_id in kept:
            continue  # the plan itself would be malformed; that is the model's test, not this one
        if service_id:
            kept.add(service_id)
        start_at = now + timedelta(days=index)
        planned.append(
            PlannedServiceInput(
                service_id=service_id,
                kind=kind,
                provider=f"Provider {index}",
                planned_start=start_at,
                planned_end=start_at + timedelta(days=30),
            )
        )
    return PathwayWorkflow.set_plan, SetPlanInput(
        actor=NURSE, services=planned, follow_up_interval=timedelta(weeks=weeks) if weeks else None
    )


def _decide(state: PathwayState, decision: TeamReviewDecision, staff: str, reason: ClosureReason, note: str):
    return PathwayWorkflow.decide_team_review, DecideTeamReviewInput(
        actor=COORDINATOR,
        decision=decision,
        note=note,
        new_case_manager=staff if decision is TeamReviewDecision.CHANGE_CASE_MANAGER else None,
        closure_reason=reason if decision is TeamReviewDecision.CLOSE else None,
    )


_BUILDERS: dict[str, Callable[..., tuple[Any, Any]]] = {
    "triage": _triage,
    "assign_case_manager": lambda state, staff, reason: (
        PathwayWorkflow.assign_case_manager,
        AssignCaseManagerInput(actor=COORDINATOR, case_manager=staff, reason=reason),
    ),
    "set_goal": _set_goal,
    "add_investigation": lambda state, description, due_in_days: (
        PathwayWorkflow.add_investigation,
        AddInvestigationInput(
            actor=NURSE,
            description=description,
            due_at=None if due_in_days is None else datetime.now(UTC) + timedelta(days=due_in_days),
        ),
    ),
    "complete_investigation": lambda state, reference, index, result: (
        PathwayWorkflow.complete_investigation,
        CompleteInvestigationInput(
            actor=NURSE,
            investigation_id=_pick([i.investigation_id for i in state.investigations], reference, index),
            result_summary=result,
        ),
    ),
    "complete_assessment": lambda state, summary: (
        PathwayWorkflow.complete_assessment,
        CompleteAssessmentInput(actor=NURSE, summary=summary, recommendation=summary),
    ),
    "set_plan": _set_plan,
    "update_service": lambda state, reference, index, change: (
        PathwayWorkflow.update_service,
        UpdateServiceInput(
            actor=NURSE, service_id=_pick([s.service_id for s in state.services], reference, index), change=change
        ),
    ),
    "record_follow_up": lambda state, channel, moment, note: (
        PathwayWorkflow.record_follow_up,
        RecordFollowUpInput(actor=NURSE, channel=channel, contacted_at=_moment(state, moment), note=note),
    ),
    "request_team_review": lambda state, reason: (
        PathwayWorkflow.request_team_review,
        RequestTeamReviewInput(actor=NURSE, reason=reason),
    ),
    "decide_team_review": _decide,
    "record_outcome": lambda state, solution, moment, description: (
        PathwayWorkflow.record_outcome,
        RecordOutcomeInput(actor=NURSE, solution=solution, description=description, started_at=_moment(state, moment)),
    ),
    "confirm_sustainment": lambda state, held, note: (
        PathwayWorkflow.confirm_sustainment,
        ConfirmSustainmentInput(actor=NURSE, held=held, note=note),
    ),
    "close": lambda state, reason, note: (
        PathwayWorkflow.close,
        CloseInput(actor=COORDINATOR, reason=reason, note=note),
    ),
    "record_feedback": lambda state, rating, comment: (
        PathwayWorkflow.record_feedback,
        RecordFeedbackInput(actor=NURSE, rating=rating, comment=comment),
    ),
}

texts = st.text(min_size=1, max_size=30)
staff = st.sampled_from(STAFF)
references = st.sampled_from(["existing", "existing", "unknown"])
indexes = st.integers(min_value=0, max_value=5)
moments = st.sampled_from(["none", "at_referral", "before_referral", "future"])


def _action(name: str, *params: st.SearchStrategy[Any]) -> st.SearchStrategy[Action]:
    return st.tuples(*params).map(lambda drawn: Action(name, drawn))


actions = st.one_of(
    # The actions that move a pathway forward are listed twice, so sequences reach the later stages.
    *[
        _action("triage", st.sampled_from(TriageRoute), st.sampled_from(AssessmentLevel), staff, texts),
        _action("complete_assessment", texts),
        _action(
            "set_plan",
            st.lists(st.tuples(st.sampled_from(ServiceKind), st.none() | references, indexes), min_size=1, max_size=3),
            st.none() | st.integers(min_value=1, max_value=8),
        ),
        _action("update_service", references, indexes, st.sampled_from(ServiceStatusChange)),
        _action("record_outcome", st.sampled_from(LongTermSolution), moments, texts),
    ]
    * 2,
    _action("assign_case_manager", staff, texts),
    _action("set_goal", st.none() | references, indexes, texts, st.booleans()),
    _action("add_investigation", texts, st.none() | st.integers(min_value=-3, max_value=30)),
    _action("complete_investigation", references, indexes, texts),
    _action("record_follow_up", st.sampled_from(ContactChannel), moments, texts),
    _action("request_team_review", texts),
    _action("decide_team_review", st.sampled_from(TeamReviewDecision), staff, st.sampled_from(ClosureReason), texts),
    _action("confirm_sustainment", st.booleans(), texts),
    _action("close", st.sampled_from(ClosureReason), texts),
    _action("record_feedback", st.integers(min_value=1, max_value=5), st.none() | texts),
)


# A valid way to each open stage, so the random actions start from every stage, not only the first.
_TO_ASSESSMENT = [Action("triage", (TriageRoute.HEALTH_CHECK, AssessmentLevel.BASIC, NURSE, "Health check"))]
_TO_PLANNING = [*_TO_ASSESSMENT, Action("complete_assessment", ("Fit for part-time work",))]
_TO_IN_SERVICES = [
    *_TO_PLANNING,
    Action(
        "set_plan",
        ([(ServiceKind.EMPLOYMENT_SERVICES, None, 0), (ServiceKind.MENTAL_HEALTH_SERVICES, None, 1)], None),
    ),
    Action("update_service", ("existing", 0, ServiceStatusChange.STARTED)),
]
_TO_SUSTAINMENT = [*_TO_IN_SERVICES, Action("record_outcome", (LongTermSolution.EMPLOYMENT, "none", "Hired"))]
WAYS_TO_A_STAGE = {
    Stage.AWAITING_TRIAGE: [],
    Stage.ASSESSMENT: _TO_ASSESSMENT,
    Stage.PLANNING: _TO_PLANNING,
    Stage.IN_SERVICES: _TO_IN_SERVICES,
    Stage.SUSTAINMENT: _TO_SUSTAINMENT,
}


# --------------------------------------------------------------------------------------------------
# What "valid" means
# --------------------------------------------------------------------------------------------------


def assert_valid(state: PathwayState) -> None:
    stage = state.stage
    closed = stage is Stage.CLOSED

    # Closure exactly when closed; a closed pathway leaves nothing in the team's review queue.
    assert (state.closure is not None) == closed
    if closed:
        assert not state.team_review_pending

    # Triage: before it nothing is assessed and nobody is case manager; after it (open) there is one.
    if stage is Stage.AWAITING_TRIAGE:
        assert state.case_manager is None and state.assessment is None and state.case_manager_history == []
    if not closed and stage is not Stage.AWAITING_TRIAGE:
        assert state.case_manager is not None and state.assessment is not None

    # One named case manager at a time: the one open period is theirs; a closed pathway has none open.
    open_periods = [period for period in state.case_manager_history if period.renounced_at is None]
    if closed or state.case_manager is None:
        assert open_periods == []
    else:
        assert [period.staff_id for period in open_periods] == [state.case_manager]
    for previous, following in zip(state.case_manager_history, state.case_manager_history[1:], strict=False):
        assert previous.staff_id != following.staff_id  # a handover changes the person
        assert previous.renounced_at is not None and previous.renounced_at <= following.assumed_at

    # The assessment is open during assessment and complete in every stage that follows it.
    if stage is Stage.ASSESSMENT:
        assert state.assessment is not None and state.assessment.completed_at is None
    if stage in (Stage.PLANNING, Stage.IN_SERVICES, Stage.SUSTAINMENT):
        assert state.assessment is not None and state.assessment.completed_at is not None

    # A long-term solution is followed in sustainment only; one that did not hold is kept as past.
    if not closed:
        assert (state.outcome is not None) == (stage is Stage.SUSTAINMENT)
    if stage is Stage.SUSTAINMENT:
        assert state.outcome is not None and state.outcome.confirmed_at is None
    assert all(outcome.held is not True for outcome in state.past_outcomes)

    # Services: unique ids and dates that match the status.
    assert len({service.service_id for service in state.services}) == len(state.services)
    for service in state.services:
        if service.status is ServiceStatus.PLANNED:
            assert service.started_at is None and service.ended_at is None
            assert not closed, "a closed pathway keeps no planned service"
        elif service.status is ServiceStatus.ACTIVE:
            assert service.started_at is not None and service.ended_at is None
        else:
            assert service.status in ENDED_SERVICE_STATUSES and service.ended_at is not None
    if state.next_follow_up_due is not None:
        assert state.plan is not None

    # Goals and investigations: unique, bounded, complete ones have their results.
    assert len({goal.goal_id for goal in state.goals}) == len(state.goals) <= MAX_GOALS
    assert len({i.investigation_id for i in state.investigations}) == len(state.investigations) <= MAX_INVESTIGATIONS
    for investigation in state.investigations:
        completed = investigation.status is InvestigationStatus.COMPLETED
        assert (investigation.completed_at is not None) == completed
        assert (investigation.result_summary is not None) == completed

    # Team reviews: a decided review says who decided what; staff ask for at most one at a time.
    for review in state.team_reviews:
        decided = review.decided_at is not None
        assert (review.decision is not None) == decided and (review.decided_by is not None) == decided
    requested = [r for r in state.pending_team_reviews() if r.cause is TeamReviewCause.REQUESTED_BY_STAFF]
    assert len(requested) <= 1

    # The timeline: every change recorded once, numbered without gaps.
    assert [event.sequence for event in state.events] == list(range(1, len(state.events) + 1))
    assert state.last_event_sequence == len(state.events)
    assert state.recorded_event_sequence <= state.last_event_sequence
    assert all(1 <= feedback.rating <= 5 for feedback in state.feedback)


def _comparable(state: PathwayState) -> dict[str, Any]:
    # The read-model activity advances this field on its own after each change; it is not staff-visible state.
    return state.model_dump(exclude={"recorded_event_sequence"})


# --------------------------------------------------------------------------------------------------
# The property
# --------------------------------------------------------------------------------------------------


@dataclass
class PropertyRig:
    client: Client
    task_queue: str


@pytest.fixture(scope="module")
async def rig(file_server: FileServer, keys: KeyMaterial) -> AsyncIterator[PropertyRig]:
    client = await file_server.connect(keys.a_and_b_active_b)
    task_queue = f"tq-{uuid.uuid4()}"
    async with running_worker(client, task_queue):
        yield PropertyRig(client=client, task_queue=task_queue)


async def _apply(handle: WorkflowHandle[PathwayWorkflow, PathwayState], action: Action) -> PathwayState:
    """Apply one staff action; check the state after it, or that a rejection changed nothing."""
    before: PathwayState = await handle.query(PathwayWorkflow.get_state)
    assert_valid(before)
    update, update_input = action.concrete(before)
    try:
        answer: PathwayView = await handle.execute_update(update, update_input)
    except WorkflowUpdateFailedError as rejected:
        cause = rejected.cause
        assert isinstance(cause, ApplicationError) and cause.type == "InvalidPathwayAction", repr(cause)
        assert cause.message, "a rejection says why"
        event(f"rejected {action.name}")
    except RPCError as finished:
        # A closed pathway's workflow completes once its effects are done; Temporal itself then refuses
        # updates ("already completed", or "aborted by closing workflow" when the two cross).
        assert before.stage is Stage.CLOSED, finished
        assert finished.status is RPCStatusCode.NOT_FOUND, finished
    else:
        assert answer.last_event_sequence > before.last_event_sequence, f"{action} left no trace in the timeline"
        # The answer is the view; the invariants are checked on the whole state, timeline included.
        after: PathwayState = await handle.query(PathwayWorkflow.get_state)
        assert after.last_event_sequence >= answer.last_event_sequence
        assert_valid(after)
        event(f"accepted {action.name}")
        return after
    unchanged: PathwayState = await handle.query(PathwayWorkflow.get_state)
    assert _comparable(unchanged) == _comparable(before), f"rejected {action} changed the pathway"
    return unchanged


# Bounded for the suite; TRUST_PROPERTY_EXAMPLES=500 runs a longer hunt.
@settings(max_examples=int(os.environ.get("TRUST_PROPERTY_EXAMPLES", "15")), deadline=None, database=None)
@given(
    starting_stage=st.sampled_from(list(WAYS_TO_A_STAGE)),
    sequence=st.lists(actions, min_size=1, max_size=10),
)
async def test_any_sequence_of_staff_actions_keeps_the_pathway_valid_and_rejections_change_nothing(
    rig: PropertyRig, starting_stage: Stage, sequence: list[Action]
) -> None:
    handle = await start(rig.client, rig.task_queue, intake(client_reference()))
    for step in WAYS_TO_A_STAGE[starting_stage]:
        state = await _apply(handle, step)
    state = await handle.query(PathwayWorkflow.get_state)
    assert state.stage is starting_stage
    for action in sequence:
        state = await _apply(handle, action)
    assert_valid(await handle.query(PathwayWorkflow.get_state))
    event(f"ended at {state.stage.value}")
