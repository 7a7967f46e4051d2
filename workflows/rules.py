"""The pathway's rules: what each staff action and each deadline does, as plain functions of the state.

A validator (`validate_*`) says why an action is impossible now (`Refusal`) and changes nothing; it runs
before the action enters the history, so the pathway never has to undo anything. A transition takes a
`Change` (the state, the clock, the id source and the cause) and changes the state, records the events
that say what happened and queues the notices that follow. `decide` runs one on a copy of the state and
returns the new state with the `Decision`, so the rules can be tested in milliseconds with any clock
(tests/workflows/test_rules.py); the workflow is a thin durable shell around them.

No I/O, no wall clock, no randomness: time and ids come in through `Change`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from models.actions import (
    AddInvestigation,
    AssignCaseManager,
    Close,
    CompleteAssessment,
    CompleteInvestigation,
    ConfirmSustainment,
    DecideTeamReview,
    Intake,
    RecordFeedback,
    RecordFollowUp,
    RecordOutcome,
    RequestTeamReview,
    SetGoal,
    SetPlan,
    Triage,
    UpdateService,
)
from models.events import (
    SYSTEM_ACTOR,
    AssessmentCompleted,
    CaseManagerAssigned,
    CaseManagerChanged,
    Closed,
    EventKind,
    FeedbackRecorded,
    FollowUpRecorded,
    FollowUpReminderSent,
    GoalSet,
    GoalUpdated,
    InvestigationAdded,
    InvestigationCompleted,
    OutcomeRecorded,
    OutcomeSetAside,
    PathwayEvent,
    PlannedServiceFacts,
    PlanSet,
    ReassessmentStarted,
    ReferralReceived,
    ServiceGapNoticed,
    ServiceStatusChanged,
    SustainmentCheckRequested,
    SustainmentConfirmed,
    TeamReviewDecided,
    TeamReviewOpened,
    Triaged,
)
from models.pathway import (
    ENDED_SERVICE_STATUSES,
    ClosureReason,
    DeadlineKind,
    InvestigationStatus,
    NotificationKind,
    PathwayPolicy,
    ServiceStatus,
    ServiceStatusChange,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TriageRoute,
)
from models.process import (
    MAX_GOALS_KEPT,
    MAX_INVESTIGATIONS,
    MAX_OPEN_GOALS,
    MAX_UNRECORDED_EVENTS,
    Deadline,
    Notice,
    PendingReview,
    ProcessAssessment,
    ProcessClosure,
    ProcessGoal,
    ProcessInvestigation,
    ProcessOutcome,
    ProcessPlan,
    ProcessService,
    ProcessState,
    Recipient,
)
from workflows import deadlines

# A contact "now" may be typed a little ahead of the server's clock.
CLOCK_TOLERANCE = timedelta(minutes=5)

F = TypeVar("F")


class Refusal(Exception):
    """Why an action is not possible now; staff see the message as the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def refuse_unless(condition: bool, reason: str) -> None:
    if not condition:
        raise Refusal(reason)


@dataclass
class Decision:
    """What one action or deadline decided, beyond the new state."""

    events: list[PathwayEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    created_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Change:
    """One transition in progress: the state it changes and what it has decided so far.

    `cause` names the logical action ("start", "update:<update id>", "deadline:<deadline key>"); a notice's
    key is built from it, so the same decision, replayed or retried, always yields the same notice keys.
    """

    state: ProcessState
    now: datetime
    new_id: Callable[[], str]
    cause: str
    actor: str
    decision: Decision = field(default_factory=Decision)

    def record(self, event_type: type[Any], **facts: Any) -> Any:
        """Record an event with the state's stage after it (set the stage first)."""
        self.state.last_event_sequence += 1
        event = event_type(
            sequence=self.state.last_event_sequence,
            at=self.now,
            actor=facts.pop("actor", self.actor),
            stage=self.state.stage,
            **facts,
        )
        self.decision.events.append(event)
        return event

    def notify(
        self,
        kind: NotificationKind,
        to: Recipient,
        recipient: str | None = None,
        *,
        due_at: datetime | None = None,
        review_id: str | None = None,
    ) -> None:
        key = f"{self.state.pathway_id}:{self.cause}:{kind.value}:{recipient or to.value}"
        if any(notice.key == key for notice in self.decision.notices):
            return
        self.decision.notices.append(
            Notice(key=key, kind=kind, to=to, recipient=recipient, due_at=due_at, review_id=review_id)
        )

    def new_item_id(self) -> str:
        item_id = self.new_id()
        self.decision.created_ids.append(item_id)
        return item_id


def decide(
    state: ProcessState,
    transition: Callable[[Change, F], None],
    action: F,
    *,
    now: datetime,
    new_id: Callable[[], str],
    cause: str,
    actor: str,
) -> tuple[ProcessState, Decision]:
    """Run a transition on a copy of `state`: the new state and what was decided. `state` is not touched."""
    change = Change(state=state.model_copy(deep=True), now=now, new_id=new_id, cause=cause, actor=actor)
    transition(change, action)
    change.state.fired_deadline_keys = deadlines.still_relevant_fired_keys(change.state)
    return change.state, change.decision


# --------------------------------------------------------------------------------------------------
# Shared checks
# --------------------------------------------------------------------------------------------------


def require_open(state: ProcessState) -> None:
    refuse_unless(state.stage is not Stage.CLOSED, "the pathway is closed")


def require_stage(state: ProcessState, action: str, *stages: Stage) -> None:
    require_open(state)
    allowed = ", ".join(stage.value for stage in stages)
    refuse_unless(
        state.stage in stages, f"{action} is not possible at stage {state.stage.value} (possible at: {allowed})"
    )


def require_case_manager(state: ProcessState, action: str) -> None:
    refuse_unless(state.case_manager is not None, f"{action} needs a case manager; triage the pathway first")


def require_not_future(state: ProcessState, now: datetime, moment: datetime | None, what: str) -> None:
    if moment is not None:
        refuse_unless(moment <= now + CLOCK_TOLERANCE, f"{what} cannot be in the future")
        refuse_unless(moment >= state.referred_at, f"{what} cannot be before the referral")


def require_record_keeping_up(state: ProcessState) -> None:
    refuse_unless(
        len(state.unrecorded_events) < MAX_UNRECORDED_EVENTS,
        "the pathway's record cannot be written to the database right now; try again when it is reachable",
    )


# --------------------------------------------------------------------------------------------------
# Intake
# --------------------------------------------------------------------------------------------------


def start(
    intake: Intake,
    *,
    pathway_id: str,
    registered_by: str,
    policy: PathwayPolicy,
    now: datetime,
) -> tuple[ProcessState, Decision]:
    """A new pathway from its referral: the process state, the referral event and the team's notice."""
    referred_at = intake.referred_at or now
    state = ProcessState(
        pathway_id=pathway_id,
        client_reference=intake.client_reference,
        team=intake.team,
        client_language=intake.client_language,
        demo=intake.demo,
        policy=policy,
        referred_at=referred_at,
    )
    change = Change(state=state, now=now, new_id=lambda: "", cause="start", actor=registered_by)
    change.record(
        ReferralReceived,
        client_reference=intake.client_reference,
        team=intake.team,
        referral_source=intake.referral_source,
        referring_organisation=intake.referring_organisation,
        client_language=intake.client_language,
        remote_services_needed=intake.remote_services_needed,
        referred_at=referred_at,
        registered_by=registered_by,
        demo=intake.demo,
        reason=intake.reason,
    )
    change.notify(NotificationKind.NEW_REFERRAL, Recipient.COORDINATORS, due_at=referred_at + policy.triage_due_after)
    return change.state, change.decision


# --------------------------------------------------------------------------------------------------
# Staff actions: each validator beside its transition
# --------------------------------------------------------------------------------------------------


def validate_triage(state: ProcessState, action: Triage, now: datetime) -> None:
    """Nothing beyond the stage (the API checks the case manager is a member of the team)."""


def triage(change: Change, action: Triage) -> None:
    state = change.state
    for review in list(state.pending_reviews):
        if review.cause is TeamReviewCause.TRIAGE_OVERDUE:
            # The team's triage is the review an overdue triage asked for.
            _decide_review(change, review, TeamReviewDecision.CONTINUE, "resolved by triage")
    if action.route is TriageRoute.NO_NEED:
        change.record(Triaged, route=action.route, note=action.note, redirect_note=action.redirect_note)
        _close(change, ClosureReason.NO_NEED, action.redirect_note or "")
        return
    state.assessment = ProcessAssessment(route=action.route, level=action.assessment_level, started_at=change.now)
    state.stage = Stage.ASSESSMENT
    change.record(Triaged, route=action.route, assessment_level=action.assessment_level, note=action.note)
    assert action.case_manager is not None
    _assign_case_manager(change, action.case_manager, "named in triage")


def validate_assign_case_manager(state: ProcessState, action: AssignCaseManager, now: datetime) -> None:
    require_case_manager(state, "changing the case manager")
    refuse_unless(action.case_manager != state.case_manager, f"{action.case_manager} is already the case manager")


def assign_case_manager(change: Change, action: AssignCaseManager) -> None:
    _assign_case_manager(change, action.case_manager, action.reason)


def validate_set_goal(state: ProcessState, action: SetGoal, now: datetime) -> None:
    require_case_manager(state, "setting the client's goal")
    if action.goal_id is None:
        open_goals = sum(1 for goal in state.goals if not goal.achieved)
        refuse_unless(open_goals < MAX_OPEN_GOALS, f"a pathway holds at most {MAX_OPEN_GOALS} open goals")
    else:
        refuse_unless(any(goal.goal_id == action.goal_id for goal in state.goals), f"no goal {action.goal_id}")


def set_goal(change: Change, action: SetGoal) -> None:
    state = change.state
    if action.goal_id is None:
        goal = ProcessGoal(goal_id=change.new_item_id(), target_date=action.target_date, achieved=action.achieved)
        state.goals.append(goal)
        change.record(
            GoalSet, goal_id=goal.goal_id, text=action.text, target_date=action.target_date, achieved=action.achieved
        )
    else:
        goal = next(goal for goal in state.goals if goal.goal_id == action.goal_id)
        goal.target_date, goal.achieved = action.target_date, action.achieved
        change.record(
            GoalUpdated,
            goal_id=goal.goal_id,
            text=action.text,
            target_date=action.target_date,
            achieved=action.achieved,
        )
    # Achieved goals leave the process first when it holds many (the record keeps them all).
    while len(state.goals) > MAX_GOALS_KEPT:
        oldest_achieved = next((goal for goal in state.goals if goal.achieved), None)
        if oldest_achieved is None:
            break
        state.goals.remove(oldest_achieved)


def validate_add_investigation(state: ProcessState, action: AddInvestigation, now: datetime) -> None:
    refuse_unless(
        len(state.investigations) < MAX_INVESTIGATIONS,
        f"an assessment holds at most {MAX_INVESTIGATIONS} investigations",
    )
    if action.due_at is not None:
        refuse_unless(action.due_at > now, "due_at of an investigation must be in the future")


def add_investigation(change: Change, action: AddInvestigation) -> None:
    investigation = ProcessInvestigation(
        investigation_id=change.new_item_id(), ordered_by=change.actor, due_at=action.due_at
    )
    change.state.investigations.append(investigation)
    change.record(
        InvestigationAdded,
        investigation_id=investigation.investigation_id,
        description=action.description,
        provider=action.provider,
        due_at=action.due_at,
    )


def validate_complete_investigation(state: ProcessState, action: CompleteInvestigation, now: datetime) -> None:
    found = [i for i in state.investigations if i.investigation_id == action.investigation_id]
    refuse_unless(bool(found), f"no investigation {action.investigation_id}")
    refuse_unless(
        found[0].status is InvestigationStatus.ORDERED,
        f"investigation {action.investigation_id} is already completed",
    )


def complete_investigation(change: Change, action: CompleteInvestigation) -> None:
    investigation = next(i for i in change.state.investigations if i.investigation_id == action.investigation_id)
    investigation.status = InvestigationStatus.COMPLETED
    change.record(
        InvestigationCompleted,
        investigation_id=investigation.investigation_id,
        ordered_by=investigation.ordered_by,
        result_summary=action.result_summary,
    )


def validate_complete_assessment(state: ProcessState, action: CompleteAssessment, now: datetime) -> None:
    still_open = [i for i in state.investigations if i.status is InvestigationStatus.ORDERED]
    refuse_unless(
        not still_open,
        f"{len(still_open)} investigation(s) still open; complete them before completing the assessment",
    )


def complete_assessment(change: Change, action: CompleteAssessment) -> None:
    state = change.state
    assert state.assessment is not None
    state.assessment.completed_at = change.now
    state.stage = Stage.PLANNING
    change.record(
        AssessmentCompleted,
        route=state.assessment.route,
        assessment_level=state.assessment.level,
        summary=action.summary,
        recommendation=action.recommendation,
    )


def validate_set_plan(state: ProcessState, action: SetPlan, now: datetime) -> None:
    current = {service.service_id: service for service in state.services}
    for service in action.services:
        if service.service_id is not None:
            refuse_unless(service.service_id in current, f"no service {service.service_id} in the current plan")
            refuse_unless(
                current[service.service_id].status not in ENDED_SERVICE_STATUSES,
                f"service {service.service_id} has ended and cannot be kept in a new plan",
            )
    listed = {service.service_id for service in action.services}
    for existing in state.services:
        refuse_unless(
            existing.status is not ServiceStatus.ACTIVE or existing.service_id in listed,
            f"active service {existing.service_id} is missing from the plan; keep it or end it first",
        )


def set_plan(change: Change, action: SetPlan) -> None:
    state = change.state
    now = change.now
    revision = state.plan is not None
    current = {service.service_id: service for service in state.services}
    listed = {service.service_id for service in action.services if service.service_id}
    for service in state.services:
        if service.service_id not in listed and service.status is ServiceStatus.PLANNED:
            # A planned service left out of a revised plan is no longer going to happen.
            _end_service(change, service, ServiceStatus.CANCELLED, EventKind.SERVICE_CANCELLED, "left_out_of_plan")
    services: list[ProcessService] = []
    facts: list[PlannedServiceFacts] = []
    for planned in action.services:
        if planned.service_id:
            service = current[planned.service_id]
            service.kind, service.remote = planned.kind, planned.remote
            service.planned_start, service.planned_end = planned.planned_start, planned.planned_end
        else:
            service = ProcessService(
                service_id=change.new_item_id(),
                kind=planned.kind,
                planned_start=planned.planned_start,
                planned_end=planned.planned_end,
                remote=planned.remote,
            )
        services.append(service)
        facts.append(
            PlannedServiceFacts(
                service_id=service.service_id,
                kind=planned.kind,
                provider=planned.provider,
                planned_start=planned.planned_start,
                planned_end=planned.planned_end,
                remote=planned.remote,
                status=service.status,
                new=not planned.service_id,
            )
        )
    # The process keeps the current plan's services; ended ones left out are the record's alone.
    state.services = services
    interval = action.follow_up_interval or (
        state.plan.follow_up_interval if state.plan else state.policy.follow_up_interval
    )
    version = state.plan.version + 1 if state.plan else 1
    state.plan = ProcessPlan(version=version, set_at=now, follow_up_interval=interval)
    state.next_follow_up_due = now + interval
    if state.stage is Stage.PLANNING:
        state.stage = Stage.IN_SERVICES
    change.record(
        PlanSet,
        kind=EventKind.PLAN_REVISED if revision else EventKind.PLAN_SET,
        version=version,
        follow_up_interval=interval,
        next_follow_up_due=state.next_follow_up_due,
        services=facts,
        note=action.note,
    )


# The status change staff report -> (from which statuses, to which status, the event it records).
SERVICE_TRANSITIONS: dict[ServiceStatusChange, tuple[frozenset[ServiceStatus], ServiceStatus, EventKind]] = {
    ServiceStatusChange.STARTED: (frozenset({ServiceStatus.PLANNED}), ServiceStatus.ACTIVE, EventKind.SERVICE_STARTED),
    ServiceStatusChange.COMPLETED: (
        frozenset({ServiceStatus.ACTIVE}),
        ServiceStatus.COMPLETED,
        EventKind.SERVICE_COMPLETED,
    ),
    ServiceStatusChange.INTERRUPTED: (
        frozenset({ServiceStatus.ACTIVE}),
        ServiceStatus.INTERRUPTED,
        EventKind.SERVICE_INTERRUPTED,
    ),
    ServiceStatusChange.CANCELLED: (
        frozenset({ServiceStatus.PLANNED}),
        ServiceStatus.CANCELLED,
        EventKind.SERVICE_CANCELLED,
    ),
}


def validate_update_service(state: ProcessState, action: UpdateService, now: datetime) -> None:
    found = [s for s in state.services if s.service_id == action.service_id]
    refuse_unless(bool(found), f"no service {action.service_id} in the plan")
    allowed_from, _, _ = SERVICE_TRANSITIONS[action.change]
    refuse_unless(
        found[0].status in allowed_from, f"a {found[0].status.value} service cannot be marked {action.change.value}"
    )


def update_service(change: Change, action: UpdateService) -> None:
    service = next(s for s in change.state.services if s.service_id == action.service_id)
    _, new_status, event_kind = SERVICE_TRANSITIONS[action.change]
    if new_status is ServiceStatus.ACTIVE:
        service.status = new_status
        service.started_at = change.now
        change.record(
            ServiceStatusChanged,
            kind=event_kind,
            service_id=service.service_id,
            service_kind=service.kind,
            status=new_status,
            note=action.note,
        )
    else:
        _end_service(change, service, new_status, event_kind, "staff", note=action.note)


def _end_service(
    change: Change,
    service: ProcessService,
    status: ServiceStatus,
    event_kind: EventKind,
    because: str,
    note: str | None = None,
) -> None:
    service.status = status
    service.ended_at = change.now
    state = change.state
    state.last_service_ended_at = max(state.last_service_ended_at or change.now, change.now)
    change.record(
        ServiceStatusChanged,
        kind=event_kind,
        service_id=service.service_id,
        service_kind=service.kind,
        status=status,
        because=because,
        note=note,
    )


def validate_record_follow_up(state: ProcessState, action: RecordFollowUp, now: datetime) -> None:
    require_case_manager(state, "recording a follow-up")
    require_not_future(state, now, action.contacted_at, "contacted_at")


def record_follow_up(change: Change, action: RecordFollowUp) -> None:
    state = change.state
    contacted_at = action.contacted_at or change.now
    state.last_contact_at = max(state.last_contact_at or contacted_at, contacted_at)
    if state.plan is not None:
        state.next_follow_up_due = max(contacted_at, change.now) + state.plan.follow_up_interval
    change.record(
        FollowUpRecorded,
        contacted_at=contacted_at,
        channel=action.channel,
        note=action.note,
        next_follow_up_due=state.next_follow_up_due,
    )


def validate_request_team_review(state: ProcessState, action: RequestTeamReview, now: datetime) -> None:
    refuse_unless(
        not any(review.cause is TeamReviewCause.REQUESTED_BY_STAFF for review in state.pending_reviews),
        "a team review requested by staff is already pending",
    )


def request_team_review(change: Change, action: RequestTeamReview) -> None:
    _open_team_review(change, TeamReviewCause.REQUESTED_BY_STAFF, action.reason, change.actor)


def validate_decide_team_review(state: ProcessState, action: DecideTeamReview, now: datetime) -> None:
    refuse_unless(state.team_review_pending, "no team review is pending on this pathway")
    decision = action.decision
    if decision in (TeamReviewDecision.REASSESS, TeamReviewDecision.REVISE_PLAN):
        refuse_unless(
            state.stage is not Stage.AWAITING_TRIAGE, f"{decision.value} needs a triaged pathway; triage it first"
        )
    if decision is TeamReviewDecision.REVISE_PLAN:
        refuse_unless(
            state.stage is not Stage.ASSESSMENT,
            "revise_plan needs a completed assessment; complete the assessment first",
        )
    if decision is TeamReviewDecision.CHANGE_CASE_MANAGER:
        require_case_manager(state, "changing the case manager")
        refuse_unless(
            action.new_case_manager != state.case_manager, f"{action.new_case_manager} is already the case manager"
        )


def decide_team_review(change: Change, action: DecideTeamReview) -> None:
    state = change.state
    # The team handles the case as a whole: one decision settles every pending review item.
    for review in list(state.pending_reviews):
        _decide_review(change, review, action.decision, action.note, action)
    if action.decision is TeamReviewDecision.REASSESS:
        _set_outcome_aside(change)
        previous = state.assessment
        state.assessment = ProcessAssessment(
            route=previous.route if previous else TriageRoute.EXTENDED_ASSESSMENT,
            level=previous.level if previous else None,
            started_at=change.now,
        )
        # A new assessment orders its own investigations.
        state.investigations = [i for i in state.investigations if i.status is InvestigationStatus.ORDERED]
        state.stage = Stage.ASSESSMENT
        change.record(ReassessmentStarted, route=state.assessment.route, assessment_level=state.assessment.level)
    elif action.decision is TeamReviewDecision.CHANGE_CASE_MANAGER:
        assert action.new_case_manager is not None
        _assign_case_manager(change, action.new_case_manager, "team review decision")
    elif action.decision is TeamReviewDecision.REVISE_PLAN:
        _set_outcome_aside(change)
        state.stage = Stage.PLANNING
    elif action.decision is TeamReviewDecision.CLOSE:
        assert action.closure_reason is not None
        _close(change, action.closure_reason, action.note)
    if state.case_manager is not None and state.stage is not Stage.CLOSED:
        change.notify(NotificationKind.TEAM_REVIEW_DECIDED, Recipient.CASE_MANAGER, state.case_manager)


def validate_record_outcome(state: ProcessState, action: RecordOutcome, now: datetime) -> None:
    require_not_future(state, now, action.started_at, "started_at")


def record_outcome(change: Change, action: RecordOutcome) -> None:
    state = change.state
    until = change.now + state.policy.sustainment_period
    state.outcome = ProcessOutcome(solution=action.solution, recorded_at=change.now, sustainment_until=until)
    state.stage = Stage.SUSTAINMENT
    change.record(
        OutcomeRecorded,
        solution=action.solution,
        description=action.description,
        started_at=action.started_at,
        sustainment_until=until,
    )


def validate_confirm_sustainment(state: ProcessState, action: ConfirmSustainment, now: datetime) -> None:
    assert state.outcome is not None
    if action.held:
        until = state.outcome.sustainment_until
        refuse_unless(
            now >= until,
            f"the sustainment period runs until {until.isoformat()}; "
            "a solution can be confirmed as held only after it (report one that did not hold at any time)",
        )


def confirm_sustainment(change: Change, action: ConfirmSustainment) -> None:
    state = change.state
    assert state.outcome is not None
    solution = state.outcome.solution
    if action.held:
        change.record(SustainmentConfirmed, solution=solution, held=True, note=action.note)
        _close(change, ClosureReason.COMPLETED, action.note)
        return
    change.record(
        SustainmentConfirmed, kind=EventKind.SOLUTION_DID_NOT_HOLD, solution=solution, held=False, note=action.note
    )
    state.stage = Stage.IN_SERVICES
    _set_outcome_aside(change)
    _open_team_review(change, TeamReviewCause.SOLUTION_DID_NOT_HOLD, action.note, change.actor)


def validate_close(state: ProcessState, action: Close, now: datetime) -> None:
    """Nothing beyond an open pathway."""


def close(change: Change, action: Close) -> None:
    _close(change, action.reason, action.note)


def validate_record_feedback(state: ProcessState, action: RecordFeedback, now: datetime) -> None:
    """Nothing beyond an open pathway."""


def record_feedback(change: Change, action: RecordFeedback) -> None:
    change.record(FeedbackRecorded, rating=action.rating, comment=action.comment)


# --------------------------------------------------------------------------------------------------
# Transitions shared by several actions
# --------------------------------------------------------------------------------------------------


def _assign_case_manager(change: Change, new: str, reason: str) -> None:
    state = change.state
    previous = state.case_manager
    state.case_manager = new
    if previous is None:
        change.record(CaseManagerAssigned, case_manager=new, reason=reason)
        change.notify(NotificationKind.ASSIGNED_CASE_MANAGER, Recipient.STAFF, new)
        return
    # A safe handover: both the previous and the new case manager know.
    change.record(CaseManagerChanged, previous_case_manager=previous, case_manager=new, reason=reason)
    change.notify(NotificationKind.HANDOVER_FROM, Recipient.STAFF, previous)
    change.notify(NotificationKind.HANDOVER_TO, Recipient.STAFF, new)


def _open_team_review(change: Change, cause: TeamReviewCause, reason: str, opened_by: str) -> None:
    state = change.state
    review = PendingReview(review_id=change.new_item_id(), cause=cause, opened_at=change.now, opened_by=opened_by)
    state.pending_reviews.append(review)
    change.record(TeamReviewOpened, actor=opened_by, review_id=review.review_id, cause=cause, reason=reason)
    change.notify(NotificationKind.ESCALATED_TO_TEAM_REVIEW, Recipient.COORDINATORS, review_id=review.review_id)
    if state.case_manager is not None:
        change.notify(
            NotificationKind.ESCALATED_TO_TEAM_REVIEW,
            Recipient.CASE_MANAGER,
            state.case_manager,
            review_id=review.review_id,
        )


def _decide_review(
    change: Change,
    review: PendingReview,
    decision: TeamReviewDecision,
    note: str,
    action: DecideTeamReview | None = None,
) -> None:
    change.state.pending_reviews.remove(review)
    change.record(
        TeamReviewDecided,
        review_id=review.review_id,
        cause=review.cause,
        decision=decision,
        new_case_manager=action.new_case_manager if action else None,
        closure_reason=action.closure_reason if action else None,
        note=note,
    )


def _set_outcome_aside(change: Change) -> None:
    state = change.state
    if state.outcome is not None:
        change.record(OutcomeSetAside, solution=state.outcome.solution)
        state.outcome = None


def _close(change: Change, reason: ClosureReason, note: str) -> None:
    state = change.state
    for service in state.services:
        if service.status is ServiceStatus.PLANNED:
            _end_service(change, service, ServiceStatus.CANCELLED, EventKind.SERVICE_CANCELLED, "pathway_closed")
    for review in list(state.pending_reviews):
        _decide_review(change, review, TeamReviewDecision.CLOSE, "the pathway was closed")
    solution = state.outcome.solution if state.outcome else None
    state.closure = ProcessClosure(reason=reason, closed_at=change.now)
    state.stage = Stage.CLOSED
    change.record(Closed, closure_reason=reason, solution=solution, note=note)


# --------------------------------------------------------------------------------------------------
# Deadlines
# --------------------------------------------------------------------------------------------------


def fire_deadline(change: Change, deadline: Deadline) -> None:
    """What a deadline that fell due does: remind the case manager, or escalate to the team."""
    state = change.state
    state.fired_deadline_keys.append(deadline.key)
    case_manager = state.case_manager
    kind = deadline.kind
    if kind is DeadlineKind.TRIAGE_DUE:
        _escalate_once(change, TeamReviewCause.TRIAGE_OVERDUE, "triage is overdue")
    elif kind is DeadlineKind.ASSESSMENT_DUE:
        _escalate_once(change, TeamReviewCause.ASSESSMENT_OVERDUE, "the assessment is taking too long")
    elif kind is DeadlineKind.FOLLOW_UP_REMINDER and case_manager and state.next_follow_up_due:
        change.record(FollowUpReminderSent, due_at=state.next_follow_up_due, case_manager=case_manager)
        change.notify(
            NotificationKind.FOLLOW_UP_DUE_SOON, Recipient.CASE_MANAGER, case_manager, due_at=state.next_follow_up_due
        )
    elif kind is DeadlineKind.FOLLOW_UP_OVERDUE:
        if case_manager:
            change.notify(
                NotificationKind.FOLLOW_UP_OVERDUE,
                Recipient.CASE_MANAGER,
                case_manager,
                due_at=state.next_follow_up_due,
            )
        _escalate_once(change, TeamReviewCause.FOLLOW_UP_OVERDUE, "the follow-up contact is overdue")
    elif kind is DeadlineKind.SERVICE_GAP_NOTICE and case_manager:
        gap_started = deadlines.service_gap_started_at(state)
        change.record(ServiceGapNoticed, gap_started_at=gap_started or change.now)
        change.notify(NotificationKind.SERVICE_GAP, Recipient.CASE_MANAGER, case_manager)
    elif kind is DeadlineKind.SERVICE_GAP_ESCALATION:
        _escalate_once(change, TeamReviewCause.SERVICE_GAP, "the client has been without services too long")
    elif kind is DeadlineKind.SUSTAINMENT_CHECK and case_manager and state.outcome:
        change.record(SustainmentCheckRequested, sustainment_until=state.outcome.sustainment_until)
        change.notify(
            NotificationKind.SUSTAINMENT_CHECK_DUE, Recipient.CASE_MANAGER, case_manager, due_at=deadline.due_at
        )
    elif kind is DeadlineKind.SUSTAINMENT_UNCONFIRMED:
        _escalate_once(change, TeamReviewCause.SUSTAINMENT_UNCONFIRMED, "the solution was not confirmed in time")


def _escalate_once(change: Change, cause: TeamReviewCause, reason: str) -> None:
    if any(review.cause is cause for review in change.state.pending_reviews):
        return
    _open_team_review(change, cause, reason, SYSTEM_ACTOR)


def fire(
    state: ProcessState, deadline: Deadline, *, now: datetime, new_id: Callable[[], str]
) -> tuple[ProcessState, Decision]:
    """`decide` for a deadline: the cause is the deadline's own key, so a replay decides the same notices."""
    return decide(
        state, fire_deadline, deadline, now=now, new_id=new_id, cause=f"deadline:{deadline.key}", actor=SYSTEM_ACTOR
    )
