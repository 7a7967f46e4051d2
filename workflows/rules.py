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

from pydantic import BaseModel

from models.actions import (
    MAX_SERVICES_IN_PLAN,
    AcceptHandover,
    AddInvestigation,
    AnswerReferral,
    AssignCaseManager,
    Close,
    CompleteAssessment,
    CompleteInvestigation,
    ConfirmSustainment,
    DecideTeamReview,
    DecideTransition,
    DeclineHandover,
    GiveSummary,
    Intake,
    MeetingParticipant,
    PlannedServiceInput,
    RecordConsent,
    RecordFeedback,
    RecordFollowUp,
    RecordNetworkMeeting,
    RecordOutcome,
    RecordWorkAbility,
    ReferService,
    RequestTeamReview,
    ScheduleNetworkMeeting,
    ScoreGoal,
    SetGoal,
    SetPlan,
    Triage,
    UpdateService,
    WithdrawConsent,
    WithdrawHandover,
)
from models.events import (
    SYSTEM_ACTOR,
    AssessmentCompleted,
    CaseManagerAssigned,
    CaseManagerChanged,
    Closed,
    ConsentRecorded,
    ConsentWithdrawn,
    DeadlineNoticed,
    EventKind,
    FeedbackRecorded,
    FollowUpRecorded,
    FollowUpReminderSent,
    GoalAttainmentScored,
    GoalSet,
    HandoverEnded,
    HandoverProposed,
    InvestigationAdded,
    InvestigationCompleted,
    NetworkMeetingHeld,
    NetworkMeetingScheduled,
    OutcomeRecorded,
    OutcomeSetAside,
    PathwayEvent,
    PlannedServiceFacts,
    PlanSet,
    ReassessmentStarted,
    ReferralAnswered,
    ReferralReceived,
    ReferralSent,
    ReferralWithdrawn,
    ServiceGapNoticed,
    ServiceStatusChanged,
    SummaryGiven,
    SustainmentCheckRequested,
    SustainmentConfirmed,
    TeamReviewDecided,
    TeamReviewOpened,
    TransitionDecided,
    TransitionOpened,
    Triaged,
    WorkAbilityRecorded,
)
from models.measures import AFTER_SOLUTION_OCCASION, AFTER_SOLUTION_OCCASIONS, WorkAbilityOccasion, occasion_at
from models.pathway import (
    CLIENT_ACTOR_PREFIX,
    ENDED_SERVICE_STATUSES,
    PARTNER_ACTOR_PREFIX,
    SERVICE_STAGES,
    ClosureReason,
    ConsentScope,
    ConsentTerms,
    DeadlineKind,
    InvestigationStatus,
    NotificationKind,
    PathwayPolicy,
    ReferralAnswer,
    ReferralStatus,
    ServiceStatus,
    ServiceStatusChange,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TransitionCause,
    TransitionDecision,
    TriageRoute,
)
from models.process import (
    MAX_CONSENTS,
    MAX_GOALS_KEPT,
    MAX_INVESTIGATIONS,
    MAX_OPEN_GOALS,
    MAX_UNRECORDED_EVENTS,
    ActionWarning,
    Deadline,
    Notice,
    OpenTransition,
    PendingHandover,
    PendingReview,
    ProcessAssessment,
    ProcessClosure,
    ProcessConsent,
    ProcessGoal,
    ProcessInvestigation,
    ProcessOutcome,
    ProcessPlan,
    ProcessReferral,
    ProcessService,
    ProcessState,
    Recipient,
    ScheduledMeeting,
    WarningCode,
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
    warnings: list[ActionWarning] = field(default_factory=list)


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

    def record_action(self, event_type: type[Any], action: BaseModel, **facts: Any) -> Any:
        """Record the event of a staff action: the event extends the action's model, so it takes the action's
        fields as they are, and `facts` adds (or settles) what the rules gave it."""
        return self.record(event_type, **{**dict(action), **facts})

    def notify(
        self,
        kind: NotificationKind,
        to: Recipient,
        recipient: str | None = None,
        *,
        due_at: datetime | None = None,
        review_id: str | None = None,
        referral_id: str | None = None,
    ) -> None:
        key = f"{self.state.pathway_id}:{self.cause}:{kind.value}:{recipient or to.value}"
        if any(notice.key == key for notice in self.decision.notices):
            return
        self.decision.notices.append(
            Notice(
                key=key,
                kind=kind,
                to=to,
                recipient=recipient,
                due_at=due_at,
                review_id=review_id,
                referral_id=referral_id,
            )
        )

    def tell_case_manager(self, kind: NotificationKind, *, due_at: datetime | None = None) -> str:
        """Notify the case manager, or the coordinators while the pathway has none; who was told."""
        if self.state.case_manager is not None:
            self.notify(kind, Recipient.CASE_MANAGER, self.state.case_manager, due_at=due_at)
            return "case_manager"
        self.notify(kind, Recipient.COORDINATORS, due_at=due_at)
        return "coordinators"

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


def initial_state(intake: Intake, *, pathway_id: str, policy: PathwayPolicy, referred_at: datetime) -> ProcessState:
    """A new pathway's process before anything is decided: what `start` begins with, and what its start's search
    attributes show (`workflows.client.status_at_start`)."""
    return ProcessState(
        pathway_id=pathway_id,
        client_reference=intake.client_reference,
        team=intake.team,
        client_language=intake.client_language,
        demo=intake.demo,
        policy=policy,
        referred_at=referred_at,
        remote_services_needed=intake.remote_services_needed,
    )


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
    state = initial_state(intake, pathway_id=pathway_id, policy=policy, referred_at=referred_at)
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


def _require_new_case_manager(state: ProcessState, new: str) -> None:
    require_case_manager(state, "changing the case manager")
    refuse_unless(new != state.case_manager, f"{new} is already the case manager")
    refuse_unless(
        state.handover is None or state.handover.to != new,
        f"a hand-over to {new} is already pending; it completes when {new} accepts it",
    )


def validate_assign_case_manager(state: ProcessState, action: AssignCaseManager, now: datetime) -> None:
    _require_new_case_manager(state, action.case_manager)


def assign_case_manager(change: Change, action: AssignCaseManager) -> None:
    _propose_handover(change, action.case_manager, action.reason)


def _require_pending_handover(state: ProcessState) -> PendingHandover:
    handover = state.handover
    if handover is None:
        raise Refusal("no hand-over is pending on this pathway")
    return handover


def require_incoming_case_manager(state: ProcessState, action: object, actor: str) -> None:
    handover = _require_pending_handover(state)
    refuse_unless(
        actor == handover.to, f"only {handover.to}, to whom the pathway is being handed over, can answer the hand-over"
    )


def validate_accept_handover(state: ProcessState, action: AcceptHandover, now: datetime) -> None:
    _require_pending_handover(state)
    refuse_unless(
        action.client_informed,
        "a hand-over completes only when the client knows whom to contact: tell the client, then record how "
        "(client_informed and client_informed_via)",
    )


def accept_handover(change: Change, action: AcceptHandover) -> None:
    state = change.state
    handover = _require_pending_handover(state)
    previous = state.case_manager
    assert previous is not None
    state.case_manager, state.handover = handover.to, None
    change.record(
        CaseManagerChanged,
        previous_case_manager=previous,
        case_manager=handover.to,
        proposed_by=handover.proposed_by,
        proposed_at=handover.proposed_at,
        client_informed_via=action.client_informed_via,
        handover_note=action.note,
    )
    change.notify(NotificationKind.HANDOVER_ACCEPTED, Recipient.STAFF, previous)


def validate_decline_handover(state: ProcessState, action: DeclineHandover, now: datetime) -> None:
    _require_pending_handover(state)


def decline_handover(change: Change, action: DeclineHandover) -> None:
    _end_handover(change, EventKind.HANDOVER_DECLINED, action.reason)


def validate_withdraw_handover(state: ProcessState, action: WithdrawHandover, now: datetime) -> None:
    _require_pending_handover(state)


def withdraw_handover(change: Change, action: WithdrawHandover) -> None:
    _end_handover(change, EventKind.HANDOVER_WITHDRAWN, action.reason)


def validate_set_goal(state: ProcessState, action: SetGoal, now: datetime) -> None:
    require_case_manager(state, "setting the client's goal")
    if action.goal_id is None:
        open_goals = sum(1 for goal in state.goals if not goal.achieved)
        refuse_unless(open_goals < MAX_OPEN_GOALS, f"a pathway holds at most {MAX_OPEN_GOALS} open goals")
    else:
        goal = next((goal for goal in state.goals if goal.goal_id == action.goal_id), None)
        refuse_unless(goal is not None, f"no goal {action.goal_id}")
        assert goal is not None
        # Its scores are measured against its levels: a GAS goal stays one (its levels may be reworded).
        refuse_unless(
            not goal.is_gas or action.gas_baseline is not None,
            f"goal {action.goal_id} is a GAS goal: give its five levels and baseline with the update (they may "
            "change), or add a new goal",
        )
    if action.gas_baseline is not None and action.target_date is not None and not action.achieved:
        refuse_unless(action.target_date > now, "a GAS goal's review date (target_date) must be in the future")


def set_goal(change: Change, action: SetGoal) -> None:
    state = change.state
    if action.goal_id is None:
        goal = ProcessGoal(
            goal_id=change.new_item_id(),
            target_date=action.target_date,
            achieved=action.achieved,
            gas_baseline=action.gas_baseline,
        )
        state.goals.append(goal)
        change.record_action(GoalSet, action, goal_id=goal.goal_id)
    else:
        goal = next(goal for goal in state.goals if goal.goal_id == action.goal_id)
        goal.target_date, goal.achieved, goal.gas_baseline = action.target_date, action.achieved, action.gas_baseline
        change.record_action(GoalSet, action, kind=EventKind.GOAL_UPDATED)
    # Achieved goals leave the process first when it holds many (the record keeps them all).
    while len(state.goals) > MAX_GOALS_KEPT:
        oldest_achieved = next((goal for goal in state.goals if goal.achieved), None)
        if oldest_achieved is None:
            break
        state.goals.remove(oldest_achieved)


def validate_score_goal(state: ProcessState, action: ScoreGoal, now: datetime) -> None:
    require_case_manager(state, "scoring a goal")
    goal = next((goal for goal in state.goals if goal.goal_id == action.goal_id), None)
    refuse_unless(goal is not None, f"no goal {action.goal_id}")
    assert goal is not None
    refuse_unless(
        goal.is_gas, f"goal {action.goal_id} has no GAS levels: describe its five levels and baseline to score it"
    )
    if action.next_review_at is not None:
        refuse_unless(action.next_review_at > now, "next_review_at must be in the future")


def score_goal(change: Change, action: ScoreGoal) -> None:
    """The attainment is on record; the goal's review date moves to the next review (none after the last)."""
    goal = next(goal for goal in change.state.goals if goal.goal_id == action.goal_id)
    goal.target_date = action.next_review_at
    change.record_action(GoalAttainmentScored, action)


def validate_record_work_ability(state: ProcessState, action: RecordWorkAbility, now: datetime) -> None:
    require_not_future(state, now, action.asked_at, "asked_at")
    occasion = action.occasion
    if occasion in AFTER_SOLUTION_OCCASIONS:
        refuse_unless(
            state.outcome is not None,
            f"an answer at {occasion.value} needs the long-term solution recorded first (record_outcome)",
        )
    if occasion is AFTER_SOLUTION_OCCASION:
        refuse_unless(
            state.stage is Stage.SUSTAINMENT,
            "the answer at the end of following the solution is asked in sustainment, before it is confirmed",
        )


def _work_ability_occasion(state: ProcessState, action: RecordWorkAbility, now: datetime) -> WorkAbilityOccasion:
    if action.occasion is not None:
        return action.occasion
    ended = state.outcome is not None and state.outcome.sustainment_until <= now
    return occasion_at(state.stage, sustainment_ended=ended)


def record_work_ability(change: Change, action: RecordWorkAbility) -> None:
    change.record_action(
        WorkAbilityRecorded,
        action,
        occasion=_work_ability_occasion(change.state, action, change.now),
        asked_at=action.asked_at or change.now,
    )


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
    change.record_action(InvestigationAdded, action, investigation_id=investigation.investigation_id)


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
    change.record_action(InvestigationCompleted, action, ordered_by=investigation.ordered_by)


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
    change.record_action(
        AssessmentCompleted, action, route=state.assessment.route, assessment_level=state.assessment.level
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
    _apply_plan(change, action.services, action.follow_up_interval, action.note)


def _apply_plan(
    change: Change,
    planned_services: list[PlannedServiceInput],
    follow_up_interval: timedelta | None,
    note: str | None,
    *,
    keep_follow_up: bool = False,
) -> list[str]:
    """Set or revise the plan (checked by `validate_set_plan`); the ids of its services, in the given order.

    The answer warns of the gaps the plan already has and of services a client who needs remote services
    cannot reach: a warning, not a refusal, for the case manager may know more than the dates say.
    """
    state = change.state
    now = change.now
    revision = state.plan is not None
    current = {service.service_id: service for service in state.services}
    listed = {service.service_id for service in planned_services if service.service_id}
    for service in state.services:
        if service.service_id not in listed and service.status is ServiceStatus.PLANNED:
            # A planned service left out of a revised plan is no longer going to happen.
            _end_service(change, service, ServiceStatus.CANCELLED, EventKind.SERVICE_CANCELLED, "left_out_of_plan")
    services: list[ProcessService] = []
    facts: list[PlannedServiceFacts] = []
    for planned in planned_services:
        if planned.service_id:
            service = current[planned.service_id]
            service.kind, service.remote, service.provider = planned.kind, planned.remote, planned.provider
            service.planned_start, service.planned_end = planned.planned_start, planned.planned_end
        else:
            service = ProcessService(
                service_id=change.new_item_id(),
                kind=planned.kind,
                provider=planned.provider,
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
    # The process keeps the current plan's services; ended ones left out are the record's alone, and so are
    # the referrals of services that left the plan.
    state.services = services
    kept = {service.service_id for service in services}
    state.referrals = [referral for referral in state.referrals if referral.service_id in kept]
    interval = follow_up_interval or (state.plan.follow_up_interval if state.plan else state.policy.follow_up_interval)
    version = state.plan.version + 1 if state.plan else 1
    state.plan = ProcessPlan(version=version, set_at=now, follow_up_interval=interval)
    if not keep_follow_up or state.next_follow_up_due is None:
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
        note=note,
    )
    change.decision.warnings.extend(plan_warnings(state, now))
    return [service.service_id for service in services]


def plan_warnings(state: ProcessState, now: datetime) -> list[ActionWarning]:
    """Gaps the plan leaves from now on (longer than the policy allows, or no service after the last one ends)
    and, for a client who needs remote services, the services that are not remote."""
    allowed = state.policy.service_gap_allowed
    spans = sorted(
        (
            (now if service.status is ServiceStatus.ACTIVE else max(service.planned_start, now), service.planned_end)
            for service in state.services
            if service.status not in ENDED_SERVICE_STATUSES
        ),
        key=lambda span: span[0],
    )
    warnings: list[ActionWarning] = []
    covered_until: datetime | None = now
    for starts, ends in spans:
        assert covered_until is not None
        if starts - covered_until > allowed:
            days = (starts - covered_until).days
            warnings.append(
                ActionWarning(
                    code=WarningCode.PLAN_GAP,
                    message=f"the plan leaves the client without a service from {covered_until:%Y-%m-%d} to "
                    f"{starts:%Y-%m-%d} ({days} days; the team allows {allowed.days})",
                    starts=covered_until,
                    ends=starts,
                )
            )
        if ends is None:
            covered_until = None
            break
        covered_until = max(covered_until, ends)
    if spans and covered_until is not None:
        warnings.append(
            ActionWarning(
                code=WarningCode.PLAN_GAP,
                message=f"the plan has no service after {covered_until:%Y-%m-%d}: plan what follows, or record the "
                "long-term solution by then",
                starts=covered_until,
            )
        )
    if state.remote_services_needed:
        for service in state.services:
            if service.status not in ENDED_SERVICE_STATUSES and not service.remote:
                warnings.append(
                    ActionWarning(
                        code=WarningCode.REMOTE_SERVICE_NEEDED,
                        message=f"the client needs remote services, and service {service.service_id} "
                        f"({service.kind.value}) is not remote",
                        service_id=service.service_id,
                    )
                )
    return warnings


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
        _start_service(change, service, "staff", action.note)
    else:
        _end_service(change, service, new_status, event_kind, "staff", note=action.note)


def _start_service(change: Change, service: ProcessService, because: str, note: str | None = None) -> None:
    service.status = ServiceStatus.ACTIVE
    service.started_at = change.now
    change.record(
        ServiceStatusChanged,
        kind=EventKind.SERVICE_STARTED,
        service_id=service.service_id,
        service_kind=service.kind,
        status=ServiceStatus.ACTIVE,
        because=because,
        note=note,
    )
    for referral in change.state.referrals:
        if referral.service_id == service.service_id and referral.status in (
            ReferralStatus.SENT,
            ReferralStatus.ACCEPTED,
        ):
            referral.status = ReferralStatus.STARTED


# Ending a service this way leaves the plan short of what was agreed: the case manager decides what follows.
_TRANSITION_CAUSES = {
    ("staff", ServiceStatus.INTERRUPTED): TransitionCause.INTERRUPTED,
    ("staff", ServiceStatus.CANCELLED): TransitionCause.CANCELLED,
    ("declined_by_provider", ServiceStatus.CANCELLED): TransitionCause.DECLINED_BY_PROVIDER,
}


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
    if not any(other.status is ServiceStatus.ACTIVE for other in state.services):
        for transition in state.transitions:
            transition.gap_seen = True
    for referral in list(state.referrals):
        if referral.service_id != service.service_id:
            continue
        if referral.status is ReferralStatus.STARTED:
            referral.status = ReferralStatus.ENDED
        elif referral.status in (ReferralStatus.SENT, ReferralStatus.ACCEPTED) and because != "declined_by_provider":
            # The provider is told to stop; nothing more about the client is shared.
            _withdraw_referral(change, referral, "pathway_closed" if because == "pathway_closed" else "service_ended")
    cause = _TRANSITION_CAUSES.get((because, status))
    if cause is not None:
        _open_transition(change, service, cause)


def _open_transition(change: Change, service: ProcessService, cause: TransitionCause) -> None:
    state = change.state
    if state.stage not in SERVICE_STAGES:
        return
    active_left = sum(1 for other in state.services if other.status is ServiceStatus.ACTIVE)
    transition = OpenTransition(
        transition_id=change.new_item_id(),
        service_id=service.service_id,
        service_kind=service.kind,
        cause=cause,
        opened_at=change.now,
        gap_seen=active_left == 0,
    )
    state.transitions.append(transition)
    change.record(
        TransitionOpened,
        transition_id=transition.transition_id,
        service_id=service.service_id,
        service_kind=service.kind,
        cause=cause,
        active_services_left=active_left,
    )
    change.tell_case_manager(
        NotificationKind.TRANSITION_TO_DECIDE, due_at=change.now + state.policy.transition_decide_within
    )


def _find_transition(state: ProcessState, transition_id: str) -> OpenTransition:
    found = next((t for t in state.transitions if t.transition_id == transition_id), None)
    if found is None:
        raise Refusal(f"no open transition {transition_id} (it may have been decided already)")
    return found


def validate_decide_transition(state: ProcessState, action: DecideTransition, now: datetime) -> None:
    _find_transition(state, action.transition_id)
    if action.decision is TransitionDecision.REPLACE:
        refuse_unless(
            len(state.services) < MAX_SERVICES_IN_PLAN, f"a plan holds at most {MAX_SERVICES_IN_PLAN} services"
        )
    if action.decision is TransitionDecision.TEAM_REVIEW:
        refuse_unless(
            not any(review.cause is TeamReviewCause.SERVICE_TRANSITION for review in state.pending_reviews),
            "a team review of a service transition is already pending; the team decides them together",
        )


def decide_transition(change: Change, action: DecideTransition) -> None:
    state = change.state
    transition = _find_transition(state, action.transition_id)
    state.transitions.remove(transition)
    replacement_id = review_id = None
    if action.decision is TransitionDecision.REPLACE:
        assert action.replacement is not None
        kept = [
            PlannedServiceInput(
                service_id=service.service_id,
                kind=service.kind,
                provider=service.provider or "-",
                planned_start=service.planned_start,
                planned_end=service.planned_end,
                remote=service.remote,
            )
            for service in state.services
            if service.status not in ENDED_SERVICE_STATUSES
        ]
        replacement_id = _apply_plan(change, [*kept, action.replacement], None, action.note, keep_follow_up=True)[-1]
    elif action.decision is TransitionDecision.TEAM_REVIEW:
        review_id = _open_team_review(change, TeamReviewCause.SERVICE_TRANSITION, action.note, change.actor)
    change.record(
        TransitionDecided,
        transition_id=transition.transition_id,
        service_id=transition.service_id,
        decision=action.decision,
        replacement_service_id=replacement_id,
        review_id=review_id,
        opened_at=transition.opened_at,
        without_gap=not transition.gap_seen,
        note=action.note,
    )


# --------------------------------------------------------------------------------------------------
# Consent and referrals to partners outside the team
# --------------------------------------------------------------------------------------------------


def consent_in_force(state: ProcessState, partner_id: str, scope: ConsentScope, at: datetime) -> ProcessConsent | None:
    return next(
        (c for c in state.consents if c.partner_id == partner_id and c.allows(scope, at)),
        None,
    )


def validate_record_consent(state: ProcessState, action: RecordConsent, now: datetime) -> None:
    # A consent may predate the referral (signed with the referral form), never the future.
    refuse_unless(action.given_at <= now + CLOCK_TOLERANCE, "given_at cannot be in the future")
    refuse_unless(action.expires_at is None or action.expires_at > now, "expires_at has already passed")
    in_force = [c for c in state.consents if c.expires_at is None or c.expires_at > now]
    refuse_unless(len(in_force) < MAX_CONSENTS, f"a pathway holds at most {MAX_CONSENTS} consents in force")


def record_consent(change: Change, action: RecordConsent) -> None:
    state = change.state
    # Expired consents leave the process (the record keeps them).
    state.consents = [c for c in state.consents if c.expires_at is None or c.expires_at > change.now]
    terms = action.model_dump(include=set(ConsentTerms.model_fields))
    consent = ProcessConsent(consent_id=change.new_item_id(), **terms)
    state.consents.append(consent)
    change.record_action(ConsentRecorded, action, consent_id=consent.consent_id)


def validate_withdraw_consent(state: ProcessState, action: WithdrawConsent, now: datetime) -> None:
    refuse_unless(
        any(c.consent_id == action.consent_id for c in state.consents), f"no consent {action.consent_id} in force"
    )


def withdraw_consent(change: Change, action: WithdrawConsent) -> None:
    """Withdrawing stops further sharing: referrals made under the consent are withdrawn and the provider told
    to stop; a service that had not started yet becomes a transition for the case manager to decide."""
    state = change.state
    consent = next(c for c in state.consents if c.consent_id == action.consent_id)
    state.consents.remove(consent)
    change.record_action(ConsentWithdrawn, action, partner_id=consent.partner_id)
    for referral in list(state.referrals):
        if referral.consent_id != consent.consent_id or referral.status in (
            ReferralStatus.DECLINED,
            ReferralStatus.ENDED,
            ReferralStatus.WITHDRAWN,
        ):
            continue
        _withdraw_referral(change, referral, "consent_withdrawn")
        service = next((s for s in state.services if s.service_id == referral.service_id), None)
        if service is not None and service.status is ServiceStatus.PLANNED:
            _open_transition(change, service, TransitionCause.CONSENT_WITHDRAWN)


def _withdraw_referral(change: Change, referral: ProcessReferral, because: str) -> None:
    referral.status = ReferralStatus.WITHDRAWN
    change.record(
        ReferralWithdrawn,
        referral_id=referral.referral_id,
        service_id=referral.service_id,
        partner_id=referral.partner_id,
        because=because,
    )
    change.notify(
        NotificationKind.REFERRAL_WITHDRAWN, Recipient.PARTNER, referral.partner_id, referral_id=referral.referral_id
    )
    change.state.referrals.remove(referral)


def _referral_of_service(state: ProcessState, service_id: str) -> ProcessReferral | None:
    return next((r for r in state.referrals if r.service_id == service_id), None)


def validate_refer_service(state: ProcessState, action: ReferService, now: datetime) -> None:
    service = next((s for s in state.services if s.service_id == action.service_id), None)
    refuse_unless(service is not None, f"no service {action.service_id} in the plan")
    assert service is not None
    refuse_unless(
        service.status is ServiceStatus.PLANNED,
        f"only a planned service can be referred; service {action.service_id} is {service.status.value}",
    )
    existing = _referral_of_service(state, action.service_id)
    if existing is not None:
        refuse_unless(
            existing.status is ReferralStatus.SENT,
            f"service {action.service_id} is already {existing.status.value} by {existing.partner_id}",
        )
        refuse_unless(
            existing.partner_id == action.partner_id,
            f"service {action.service_id} is already referred to {existing.partner_id}; record its answer first",
        )
    refuse_unless(
        consent_in_force(state, action.partner_id, ConsentScope.REFERRAL, now) is not None,
        f"the client has not consented to share a referral with {action.partner_id} (or the consent has expired "
        "or was withdrawn): record the client's consent first",
    )


def refer_service(change: Change, action: ReferService) -> None:
    state = change.state
    service = next(s for s in state.services if s.service_id == action.service_id)
    consent = consent_in_force(state, action.partner_id, ConsentScope.REFERRAL, change.now)
    assert consent is not None
    answer_due = change.now + state.policy.referral_answer_within
    referral = _referral_of_service(state, action.service_id)
    resent = referral is not None
    if referral is None:
        referral = ProcessReferral(
            referral_id=change.new_item_id(),
            service_id=service.service_id,
            partner_id=action.partner_id,
            consent_id=consent.consent_id,
            sent_at=change.now,
            answer_due=answer_due,
        )
        state.referrals.append(referral)
    else:
        referral.sent_at, referral.answer_due, referral.consent_id = change.now, answer_due, consent.consent_id
    change.record(
        ReferralSent,
        referral_id=referral.referral_id,
        service_id=service.service_id,
        service_kind=service.kind,
        partner_id=action.partner_id,
        consent_id=consent.consent_id,
        consent_expires_at=consent.expires_at,
        planned_start=service.planned_start,
        planned_end=service.planned_end,
        remote=service.remote,
        answer_due=answer_due,
        resent=resent,
        message=action.message,
    )
    change.notify(
        NotificationKind.REFERRAL_TO_PARTNER,
        Recipient.PARTNER,
        action.partner_id,
        due_at=answer_due,
        referral_id=referral.referral_id,
    )


# The answer -> the referral statuses it may follow.
REFERRAL_ANSWERS_FROM: dict[ReferralAnswer, frozenset[ReferralStatus]] = {
    ReferralAnswer.ACCEPTED: frozenset({ReferralStatus.SENT}),
    ReferralAnswer.DECLINED: frozenset({ReferralStatus.SENT, ReferralStatus.ACCEPTED}),
    ReferralAnswer.STARTED: frozenset({ReferralStatus.SENT, ReferralStatus.ACCEPTED}),
    ReferralAnswer.ENDED: frozenset({ReferralStatus.STARTED}),
}


def is_partner(actor: str) -> bool:
    return actor.startswith(PARTNER_ACTOR_PREFIX)


def is_client(actor: str) -> bool:
    return actor.startswith(CLIENT_ACTOR_PREFIX)


def _find_referral(state: ProcessState, referral_id: str) -> ProcessReferral:
    referral = next((r for r in state.referrals if r.referral_id == referral_id), None)
    if referral is None:
        raise Refusal(
            f"no referral {referral_id} is open on this pathway (it was withdrawn, or its service left the plan)"
        )
    return referral


def require_referral_partner(state: ProcessState, action: AnswerReferral, actor: str) -> None:
    """A partner answers only its own referrals (staff may record any provider's answer)."""
    if is_partner(actor):
        referral = _find_referral(state, action.referral_id)
        refuse_unless(
            actor == PARTNER_ACTOR_PREFIX + referral.partner_id, "a provider answers only the referrals sent to it"
        )


def validate_answer_referral(state: ProcessState, action: AnswerReferral, now: datetime) -> None:
    referral = _find_referral(state, action.referral_id)
    allowed = REFERRAL_ANSWERS_FROM[action.answer]
    refuse_unless(
        referral.status in allowed,
        f"the referral is {referral.status.value}: it cannot be answered {action.answer.value} now",
    )
    service = next((s for s in state.services if s.service_id == referral.service_id), None)
    refuse_unless(service is not None, f"the referred service {referral.service_id} is no longer in the plan")


def answer_referral(change: Change, action: AnswerReferral) -> None:
    state = change.state
    referral = _find_referral(state, action.referral_id)
    service = next(s for s in state.services if s.service_id == referral.service_id)
    by_partner = is_partner(change.actor)
    because = "provider" if by_partner else "staff"
    change.record_action(
        ReferralAnswered, action, service_id=referral.service_id, partner_id=referral.partner_id, by_partner=by_partner
    )
    if action.answer is ReferralAnswer.ACCEPTED:
        referral.status = ReferralStatus.ACCEPTED
    elif action.answer is ReferralAnswer.DECLINED:
        referral.status = ReferralStatus.DECLINED
        if service.status is ServiceStatus.PLANNED:
            _end_service(change, service, ServiceStatus.CANCELLED, EventKind.SERVICE_CANCELLED, "declined_by_provider")
    elif action.answer is ReferralAnswer.STARTED:
        if service.status is ServiceStatus.PLANNED:
            _start_service(change, service, because)
        referral.status = ReferralStatus.STARTED
    elif action.answer is ReferralAnswer.ENDED and service.status is ServiceStatus.ACTIVE:
        _end_service(change, service, ServiceStatus.COMPLETED, EventKind.SERVICE_COMPLETED, because)
        referral.status = ReferralStatus.ENDED
    if by_partner:
        change.tell_case_manager(NotificationKind.REFERRAL_ANSWERED)


# --------------------------------------------------------------------------------------------------
# Network meetings
# --------------------------------------------------------------------------------------------------


def _require_partner_consents(state: ProcessState, participants: list[MeetingParticipant], at: datetime) -> None:
    for participant in participants:
        if participant.partner_id is not None:
            refuse_unless(
                consent_in_force(state, participant.partner_id, ConsentScope.NETWORK_MEETING, at) is not None,
                f"the client has not consented to {participant.partner_id} taking part in network meetings "
                "(or the consent has expired or was withdrawn): record the consent first",
            )


def validate_schedule_network_meeting(state: ProcessState, action: ScheduleNetworkMeeting, now: datetime) -> None:
    require_case_manager(state, "scheduling a network meeting")
    refuse_unless(action.at > now, "a network meeting is scheduled for a time in the future")
    _require_partner_consents(state, action.participants, now)


def schedule_network_meeting(change: Change, action: ScheduleNetworkMeeting) -> None:
    meeting = ScheduledMeeting(meeting_id=change.new_item_id(), at=action.at)
    change.state.next_meeting = meeting
    change.record(
        NetworkMeetingScheduled,
        meeting_id=meeting.meeting_id,
        meeting_at=action.at,
        participants=list(action.participants),
        remote=action.remote,
        agenda=action.agenda,
    )


def validate_record_network_meeting(state: ProcessState, action: RecordNetworkMeeting, now: datetime) -> None:
    require_case_manager(state, "recording a network meeting")
    require_not_future(state, now, action.held_at, "held_at")
    _require_partner_consents(state, action.participants, action.held_at)
    if action.next_meeting_at is not None:
        refuse_unless(action.next_meeting_at > now, "next_meeting_at must be in the future")
    if action.plan is not None:
        refuse_unless(
            state.stage in (Stage.PLANNING, Stage.IN_SERVICES),
            f"a network meeting revises the plan at planning or in services, not at stage {state.stage.value}",
        )
        validate_set_plan(state, action.plan, now)


def record_network_meeting(change: Change, action: RecordNetworkMeeting) -> None:
    state = change.state
    scheduled = state.next_meeting
    meeting_id = scheduled.meeting_id if scheduled is not None else change.new_item_id()
    following = (
        ScheduledMeeting(meeting_id=change.new_item_id(), at=action.next_meeting_at)
        if action.next_meeting_at is not None
        else None
    )
    change.record(
        NetworkMeetingHeld,
        meeting_id=meeting_id,
        held_at=action.held_at,
        participants=list(action.participants),
        remote=action.remote,
        revised_plan=action.plan is not None,
        next_meeting_id=following.meeting_id if following else None,
        next_meeting_at=action.next_meeting_at,
        decisions=action.decisions,
    )
    if action.plan is not None:
        _apply_plan(change, action.plan.services, action.plan.follow_up_interval, action.plan.note)
    state.next_meeting = following


def validate_record_follow_up(state: ProcessState, action: RecordFollowUp, now: datetime) -> None:
    require_case_manager(state, "recording a follow-up")
    require_not_future(state, now, action.contacted_at, "contacted_at")


def record_follow_up(change: Change, action: RecordFollowUp) -> None:
    state = change.state
    contacted_at = action.contacted_at or change.now
    state.last_contact_at = FollowUpRecorded.last_contact(state.last_contact_at, contacted_at)
    if state.plan is not None:
        state.next_follow_up_due = max(contacted_at, change.now) + state.plan.follow_up_interval
    change.record_action(
        FollowUpRecorded, action, contacted_at=contacted_at, next_follow_up_due=state.next_follow_up_due
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
        assert action.new_case_manager is not None
        _require_new_case_manager(state, action.new_case_manager)


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
        _propose_handover(change, action.new_case_manager, action.note)
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
    change.record_action(OutcomeRecorded, action, sustainment_until=until)


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
        change.record_action(SustainmentConfirmed, action, solution=solution)
        _close(change, ClosureReason.COMPLETED, action.note)
        return
    change.record_action(SustainmentConfirmed, action, kind=EventKind.SOLUTION_DID_NOT_HOLD, solution=solution)
    state.stage = Stage.IN_SERVICES
    _set_outcome_aside(change)
    _open_team_review(change, TeamReviewCause.SOLUTION_DID_NOT_HOLD, action.note, change.actor)


def validate_close(state: ProcessState, action: Close, now: datetime) -> None:
    """Nothing beyond an open pathway."""


def close(change: Change, action: Close) -> None:
    _close(change, action.reason, action.note)


def validate_give_summary(state: ProcessState, action: GiveSummary, now: datetime) -> None:
    require_case_manager(state, "giving the client their copy of the plan")


def give_summary(change: Change, action: GiveSummary) -> None:
    state = change.state
    version = state.plan.version if state.plan is not None else None
    change.record_action(SummaryGiven, action, plan_version=version, case_manager=state.case_manager)


def validate_record_feedback(state: ProcessState, action: RecordFeedback, now: datetime) -> None:
    """Nothing beyond an open pathway."""


def record_feedback(change: Change, action: RecordFeedback) -> None:
    change.record_action(FeedbackRecorded, action)
    if is_client(change.actor):
        # The client's own voice: the case manager hears that it came (never what it says).
        change.tell_case_manager(NotificationKind.CLIENT_FEEDBACK_RECEIVED)


# --------------------------------------------------------------------------------------------------
# Transitions shared by several actions
# --------------------------------------------------------------------------------------------------


def _assign_case_manager(change: Change, new: str, reason: str) -> None:
    """The first case manager, named by the team in triage (a later change is a hand-over)."""
    change.state.case_manager = new
    change.record(CaseManagerAssigned, case_manager=new, reason=reason)
    change.notify(NotificationKind.ASSIGNED_CASE_MANAGER, Recipient.STAFF, new)


def _propose_handover(change: Change, new: str, reason: str) -> None:
    """A warm hand-over: the current case manager stays responsible (and keeps getting the pathway's notices)
    until the new one accepts it; a proposal replaces one still pending."""
    state = change.state
    current = state.case_manager
    assert current is not None
    if state.handover is not None:
        _end_handover(change, EventKind.HANDOVER_WITHDRAWN, "replaced by a new proposal")
    state.handover = PendingHandover(to=new, proposed_by=change.actor, proposed_at=change.now)
    change.record(HandoverProposed, case_manager=current, proposed_case_manager=new, reason=reason)
    accept_by = change.now + state.policy.handover_accept_within
    change.notify(NotificationKind.HANDOVER_PROPOSED, Recipient.STAFF, new, due_at=accept_by)
    change.notify(NotificationKind.HANDOVER_PENDING, Recipient.STAFF, current, due_at=accept_by)


def _end_handover(change: Change, kind: EventKind, reason: str) -> None:
    state = change.state
    handover = state.handover
    assert handover is not None and state.case_manager is not None
    state.handover = None
    change.record(
        HandoverEnded, kind=kind, case_manager=state.case_manager, proposed_case_manager=handover.to, reason=reason
    )
    if kind is EventKind.HANDOVER_DECLINED:
        change.notify(NotificationKind.HANDOVER_DECLINED, Recipient.COORDINATORS)
        change.notify(NotificationKind.HANDOVER_DECLINED, Recipient.STAFF, state.case_manager)
    else:
        change.notify(NotificationKind.HANDOVER_WITHDRAWN, Recipient.STAFF, handover.to)


def _open_team_review(change: Change, cause: TeamReviewCause, reason: str, opened_by: str) -> str:
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
    return review.review_id


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
    """Closing settles everything open: planned services, referrals (providers told to stop), a pending
    hand-over, team reviews, transitions and the next network meeting."""
    state = change.state
    for service in state.services:
        if service.status is ServiceStatus.PLANNED:
            _end_service(change, service, ServiceStatus.CANCELLED, EventKind.SERVICE_CANCELLED, "pathway_closed")
    for referral in list(state.referrals):
        if referral.status in (ReferralStatus.SENT, ReferralStatus.ACCEPTED, ReferralStatus.STARTED):
            _withdraw_referral(change, referral, "pathway_closed")
    if state.handover is not None:
        _end_handover(change, EventKind.HANDOVER_WITHDRAWN, "the pathway was closed")
    state.transitions, state.next_meeting = [], None
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
    """What a deadline that fell due does: remind the case manager (or whoever must act), or escalate to the team."""
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
    elif kind in _REMINDERS:
        notification, committed_at = _REMINDERS[kind]
        _notice(change, deadline, notification, committed_at(state, deadline))
    elif kind in _ESCALATIONS:
        cause, reason = _ESCALATIONS[kind]
        _escalate_once(change, cause, reason)


def _notice(change: Change, deadline: Deadline, kind: NotificationKind, due_at: datetime | None) -> None:
    """Tell whoever must act on the deadline, and record that they were told."""
    state = change.state
    if deadline.kind is DeadlineKind.TEAM_REVIEW_STALLED:
        change.notify(kind, Recipient.COORDINATORS, due_at=due_at, review_id=deadline.item_id)
        notified = "coordinators"
    elif deadline.kind is DeadlineKind.HANDOVER_REMINDER and state.handover is not None:
        change.notify(kind, Recipient.STAFF, state.handover.to, due_at=due_at)
        notified = "incoming_case_manager"
    else:
        notified = change.tell_case_manager(kind, due_at=due_at)
    change.record(
        DeadlineNoticed,
        actor=SYSTEM_ACTOR,
        deadline=deadline.kind,
        due_at=due_at or deadline.due_at,
        item_id=deadline.item_id,
        notified=notified,
    )


def _item_date(state: ProcessState, deadline: Deadline) -> datetime | None:
    """The date the deadline's item committed to (its anchor), from the key `<kind>@<item>@<date>`."""
    return datetime.fromisoformat(deadline.key.rsplit("@", 1)[1])


# Deadline -> (the notification that reminds, the date the commitment named).
_REMINDERS: dict[DeadlineKind, tuple[NotificationKind, Callable[[ProcessState, Deadline], datetime | None]]] = {
    DeadlineKind.SERVICE_START_MISSED: (NotificationKind.SERVICE_START_MISSED, _item_date),
    DeadlineKind.SERVICE_END_PASSED: (NotificationKind.SERVICE_END_PASSED, _item_date),
    DeadlineKind.INVESTIGATION_OVERDUE: (NotificationKind.INVESTIGATION_OVERDUE, _item_date),
    DeadlineKind.GOAL_REVIEW: (NotificationKind.GOAL_REVIEW_DUE, _item_date),
    DeadlineKind.TEAM_REVIEW_STALLED: (NotificationKind.TEAM_REVIEW_STALLED, _item_date),
    DeadlineKind.TRANSITION_REMINDER: (NotificationKind.TRANSITION_TO_DECIDE, lambda state, d: d.due_at),
    DeadlineKind.HANDOVER_REMINDER: (NotificationKind.HANDOVER_REMINDER, lambda state, d: d.due_at),
    DeadlineKind.REFERRAL_ANSWER_REMINDER: (NotificationKind.REFERRAL_UNANSWERED, _item_date),
    DeadlineKind.NETWORK_MEETING_REMINDER: (NotificationKind.NETWORK_MEETING_SOON, _item_date),
    DeadlineKind.NETWORK_MEETING_OVERDUE: (NotificationKind.NETWORK_MEETING_OVERDUE, _item_date),
}
_ESCALATIONS: dict[DeadlineKind, tuple[TeamReviewCause, str]] = {
    DeadlineKind.SERVICE_START_ESCALATION: (
        TeamReviewCause.SERVICE_NOT_STARTED,
        "a planned service has not started long after its planned start",
    ),
    DeadlineKind.INVESTIGATION_ESCALATION: (
        TeamReviewCause.INVESTIGATION_OVERDUE,
        "an investigation is long past its due date",
    ),
    DeadlineKind.TRANSITION_ESCALATION: (
        TeamReviewCause.TRANSITION_UNDECIDED,
        "a service stopped short and what follows has not been decided",
    ),
    DeadlineKind.HANDOVER_ESCALATION: (
        TeamReviewCause.HANDOVER_STALLED,
        "the proposed case manager has not taken the pathway over",
    ),
    DeadlineKind.REFERRAL_ANSWER_ESCALATION: (
        TeamReviewCause.REFERRAL_UNANSWERED,
        "the provider has not answered the referral",
    ),
    DeadlineKind.GOAL_REVIEW_ESCALATION: (
        TeamReviewCause.GOAL_REVIEW_OVERDUE,
        "a GAS goal's review is long past its date",
    ),
}


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
