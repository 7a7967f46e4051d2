"""From a version-4 pathway to the current one: the bounded process it continues with.

Pure functions of the version-4 state (the record itself is written by `records.legacy_v4` in the move
activity, before the workflow continues as new with what `process_from_v4` returns).
"""

from __future__ import annotations

from datetime import datetime

from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    ContractModel,
    DeadlineKind,
    InvestigationStatus,
    Language,
    LongTermSolution,
    PathwayPolicy,
    ServiceKind,
    ServiceStatus,
    Stage,
    TeamReviewCause,
    TriageRoute,
)
from models.process import (
    Deadline,
    PendingReview,
    ProcessAssessment,
    ProcessClosure,
    ProcessGoal,
    ProcessInvestigation,
    ProcessOutcome,
    ProcessPlan,
    ProcessService,
    ProcessState,
    ProcessStatus,
)
from workflows import deadlines
from workflows.legacy import contract_v4 as v4


class MoveV4Record(ContractModel):
    """The move activity's input: the version-4 state, whole (its events name who ordered what)."""

    state: v4.PathwayState


def ordered_by_v4(state: v4.PathwayState, investigation_id: str) -> str:
    """Who ordered an investigation: the actor of its `investigation_added` event (the summary names it)."""
    short = investigation_id[:8]
    for event in state.events:
        if event.kind is v4.EventKind.INVESTIGATION_ADDED and short in event.summary:
            return event.actor
    return state.case_manager or "unknown"


def process_from_v4(state: v4.PathwayState, *, now: datetime) -> ProcessState:
    """The current workflow's process for a version-4 state whose record is now in the database."""
    ended = [service.ended_at for service in state.services if service.ended_at is not None]
    process = ProcessState(
        pathway_id=state.pathway_id,
        client_reference=state.intake.client_reference,
        team=state.intake.team,
        client_language=Language(state.intake.client_language.value),
        demo=state.intake.demo,
        policy=PathwayPolicy.model_validate(state.policy.model_dump()),
        referred_at=state.referred_at,
        stage=Stage(state.stage.value),
        case_manager=state.case_manager,
        assessment=ProcessAssessment(
            route=TriageRoute(state.assessment.route.value),
            level=AssessmentLevel(state.assessment.level.value) if state.assessment.level else None,
            started_at=state.assessment.started_at,
            completed_at=state.assessment.completed_at,
        )
        if state.assessment
        else None,
        goals=[
            ProcessGoal(goal_id=goal.goal_id, target_date=goal.target_date, achieved=goal.achieved)
            for goal in state.goals
        ],
        investigations=[
            ProcessInvestigation(
                investigation_id=item.investigation_id,
                ordered_by=ordered_by_v4(state, item.investigation_id),
                due_at=item.due_at,
                status=InvestigationStatus(item.status.value),
            )
            for item in state.investigations
        ],
        plan=ProcessPlan(
            version=state.plan.version, set_at=state.plan.set_at, follow_up_interval=state.plan.follow_up_interval
        )
        if state.plan
        else None,
        services=[
            ProcessService(
                service_id=service.service_id,
                kind=ServiceKind(service.kind.value),
                planned_start=service.planned_start,
                planned_end=service.planned_end,
                remote=service.remote,
                status=ServiceStatus(service.status.value),
                started_at=service.started_at,
                ended_at=service.ended_at,
            )
            for service in state.services
            if service.status.value in (ServiceStatus.PLANNED.value, ServiceStatus.ACTIVE.value)
        ],
        last_service_ended_at=max(ended) if ended else None,
        next_follow_up_due=state.next_follow_up_due,
        last_contact_at=max((f.contacted_at for f in state.follow_ups), default=None),
        pending_reviews=[
            PendingReview(
                review_id=review.review_id,
                cause=TeamReviewCause(review.cause.value),
                opened_at=review.opened_at,
                opened_by=review.opened_by,
            )
            for review in state.pending_team_reviews()
        ],
        outcome=ProcessOutcome(
            solution=LongTermSolution(state.outcome.solution.value),
            recorded_at=state.outcome.recorded_at,
            sustainment_until=state.outcome.sustainment_until,
        )
        if state.outcome
        else None,
        closure=ProcessClosure(reason=ClosureReason(state.closure.reason.value), closed_at=state.closure.closed_at)
        if state.closure
        else None,
        fired_deadline_keys=list(state.fired_deadline_keys),
        last_event_sequence=state.last_event_sequence,
        recorded_event_sequence=state.last_event_sequence,
        runs=state.runs,
    )
    process.fired_deadline_keys = deadlines.still_relevant_fired_keys(process)
    process.recorded_status = status_of(process)
    return process


def status_of(process: ProcessState) -> ProcessStatus:
    return ProcessStatus(
        stage=process.stage,
        case_manager=process.case_manager,
        route=process.assessment.route if process.assessment else None,
        team_review_pending=process.team_review_pending,
        overdue=deadlines.is_overdue(process),
        next_deadline=deadlines.next_deadline(process),
    )


__all__ = ["Deadline", "DeadlineKind", "MoveV4Record", "ordered_by_v4", "process_from_v4", "status_of"]
