"""The pathway's rules as plain functions: every transition and refusal, with any clock, in milliseconds.

The dev-server tests beside these prove the workflow runs the same rules durably; these pin each rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from models import actions as a
from models.events import (
    CaseManagerChanged,
    Closed,
    EventKind,
    FollowUpReminderSent,
    GoalSet,
    HandoverProposed,
    OutcomeSetAside,
    PlanSet,
    ReferralReceived,
    ServiceStatusChanged,
    TeamReviewDecided,
    TeamReviewOpened,
)
from models.pathway import (
    ClosureReason,
    ContactChannel,
    DeadlineKind,
    LongTermSolution,
    NotificationKind,
    PathwayPolicy,
    ServiceKind,
    ServiceStatus,
    ServiceStatusChange,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TriageRoute,
)
from models.process import MAX_OPEN_GOALS, MAX_UNRECORDED_EVENTS, ProcessState, Recipient
from models.record import apply_events
from tests.support.rules import (
    COORDINATOR,
    NURSE,
    SOCIAL_WORKER,
    T0,
    Clock,
    do,
    fire_next,
    in_services,
    refused,
    started,
)
from workflows import deadlines, rules
from workflows.actions import ACTIONS
from workflows.rules import Decision, Refusal

# -- intake and triage ---------------------------------------------------------------------------------------


def test_a_referral_records_the_reason_and_asks_the_coordinators_to_triage_before_the_deadline(clock: Clock) -> None:
    state, decision = started(clock)
    [event] = decision.events
    assert isinstance(event, ReferralReceived)
    assert event.reason == "Reduced work ability suspected" and event.sequence == 1
    [notice] = decision.notices
    assert notice.kind is NotificationKind.NEW_REFERRAL and notice.to is Recipient.COORDINATORS
    assert notice.due_at == T0 + timedelta(days=14)
    assert notice.key == "pathway-client-abcd:start:new_referral:coordinators"
    assert deadlines.next_deadline(state).kind is DeadlineKind.TRIAGE_DUE  # type: ignore[union-attr]


def test_triage_names_the_case_manager_who_is_told(clock: Clock) -> None:
    state, _ = started(clock)
    state, decision = do(
        state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock, cause="update:u1"
    )
    assert state.stage is Stage.ASSESSMENT and state.case_manager == NURSE
    assert [event.kind for event in decision.events] == [EventKind.TRIAGED, EventKind.CASE_MANAGER_ASSIGNED]
    assert [(n.kind, n.recipient) for n in decision.notices] == [(NotificationKind.ASSIGNED_CASE_MANAGER, NURSE)]
    # The key comes from the logical action (the update id), not from an event sequence.
    assert decision.notices[0].key == f"pathway-client-abcd:update:u1:assigned_case_manager:{NURSE}"


def test_no_need_closes_the_pathway_with_the_redirect_note(clock: Clock) -> None:
    state, _ = started(clock)
    state, decision = do(
        state, COORDINATOR, a.Triage(route=TriageRoute.NO_NEED, redirect_note="Student health care"), clock
    )
    assert state.stage is Stage.CLOSED and state.closure is not None
    closed = decision.events[-1]
    assert isinstance(closed, Closed) and closed.closure_reason is ClosureReason.NO_NEED
    assert closed.note == "Student health care"
    assert deadlines.next_deadline(state) is None


def test_triage_is_refused_once_triaged_and_after_closure(clock: Clock) -> None:
    state, _ = started(clock)
    state, _ = do(state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock)
    refused(
        state, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock, "not possible at stage assessment"
    )
    state, _ = do(state, NURSE, a.Close(reason=ClosureReason.MOVED_AWAY, note="Moved to Oulu"), clock)
    refused(state, a.RecordFeedback(rating=3), clock, "the pathway is closed")


def test_overdue_triage_escalates_once_and_triage_resolves_that_review(clock: Clock) -> None:
    state, _ = started(clock)
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.TRIAGE_DUE
    opened = decision.events[0]
    assert isinstance(opened, TeamReviewOpened) and opened.cause is TeamReviewCause.TRIAGE_OVERDUE
    assert {n.to for n in decision.notices} == {Recipient.COORDINATORS}
    # The review itself is the next commitment: the coordinators hear if it waits longer than the policy allows.
    upcoming = deadlines.next_deadline(state)
    assert deadlines.is_overdue(state) and upcoming is not None
    assert upcoming.kind is DeadlineKind.TEAM_REVIEW_STALLED and upcoming.due_at == clock.now + timedelta(days=14)
    state, decision = do(state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock)
    decided = decision.events[0]
    assert isinstance(decided, TeamReviewDecided) and decided.decision is TeamReviewDecision.CONTINUE
    assert not state.team_review_pending and not deadlines.is_overdue(state)


# -- case managers, goals, investigations -------------------------------------------------------------------------


def test_a_handover_is_pending_until_the_new_case_manager_accepts_it_and_the_client_is_told(clock: Clock) -> None:
    state = in_services(clock)
    refused(state, a.AssignCaseManager(case_manager=NURSE, reason="x"), clock, "already the case manager")
    state, decision = do(
        state, COORDINATOR, a.AssignCaseManager(case_manager=SOCIAL_WORKER, reason="Social needs"), clock
    )
    [event] = decision.events
    assert isinstance(event, HandoverProposed) and event.proposed_case_manager == SOCIAL_WORKER
    # The previous case manager stays responsible and hears so; the new one is asked to take over.
    assert state.case_manager == NURSE and state.handover is not None
    assert [(n.kind, n.recipient) for n in decision.notices] == [
        (NotificationKind.HANDOVER_PROPOSED, SOCIAL_WORKER),
        (NotificationKind.HANDOVER_PENDING, NURSE),
    ]
    assert deadlines.status_of(state).handover_to == SOCIAL_WORKER
    refused(state, a.AssignCaseManager(case_manager=SOCIAL_WORKER, reason="x"), clock, "already pending")
    accept = a.AcceptHandover(
        note="Briefed on the plan", client_informed=True, client_informed_via=ContactChannel.PHONE
    )
    refused(state, accept, clock, "only socialworker.nieminen", actor=NURSE)
    refused(state, accept, clock, "only socialworker.nieminen", actor=COORDINATOR)
    not_told = a.AcceptHandover(note="Briefed", client_informed=False)
    refused(state, not_told, clock, "the client knows whom to contact", actor=SOCIAL_WORKER)
    # Until accepted, the pathway's reminders still reach the previous case manager.
    clock.now += timedelta(days=1)
    state, decision = do(state, SOCIAL_WORKER, accept, clock)
    [changed] = decision.events
    assert isinstance(changed, CaseManagerChanged)
    assert (changed.previous_case_manager, changed.case_manager, changed.proposed_by) == (
        NURSE,
        SOCIAL_WORKER,
        COORDINATOR,
    )
    assert changed.handover_note == "Briefed on the plan" and changed.client_informed_via is ContactChannel.PHONE
    assert state.case_manager == SOCIAL_WORKER and state.handover is None
    assert [(n.kind, n.recipient) for n in decision.notices] == [(NotificationKind.HANDOVER_ACCEPTED, NURSE)]
    refused(state, accept, clock, "no hand-over is pending", actor=SOCIAL_WORKER)


def test_goals_are_set_updated_and_bounded(clock: Clock) -> None:
    state = in_services(clock)
    state, decision = do(state, NURSE, a.SetGoal(text="Work in retail"), clock)
    goal_id = decision.created_ids[0]
    assert isinstance(decision.events[0], GoalSet) and decision.events[0].text == "Work in retail"
    refused(state, a.SetGoal(goal_id="nope", text="x"), clock, "no goal nope")
    state, decision = do(
        state, NURSE, a.SetGoal(goal_id=goal_id, text="Work in retail, part time", achieved=True), clock
    )
    assert decision.events[0].kind is EventKind.GOAL_UPDATED
    for index in range(MAX_OPEN_GOALS):
        state, _ = do(state, NURSE, a.SetGoal(text=f"goal {index}"), clock)
    refused(state, a.SetGoal(text="one too many"), clock, f"at most {MAX_OPEN_GOALS} open goals")


def test_an_assessment_completes_only_when_every_investigation_is_done(clock: Clock) -> None:
    state, _ = started(clock)
    state, _ = do(
        state,
        COORDINATOR,
        a.Triage(route=TriageRoute.EXTENDED_ASSESSMENT, assessment_level="specialist", case_manager=NURSE),
        clock,
    )
    refused(
        state, a.AddInvestigation(description="x", due_at=clock.now - timedelta(days=1)), clock, "must be in the future"
    )
    state, decision = do(state, NURSE, a.AddInvestigation(description="Neuropsychological examination"), clock)
    investigation_id = decision.created_ids[0]
    refused(state, a.CompleteAssessment(summary="s", recommendation="r"), clock, "1 investigation(s) still open")
    refused(state, a.CompleteInvestigation(investigation_id="nope", result_summary="x"), clock, "no investigation nope")
    state, decision = do(
        state, SOCIAL_WORKER, a.CompleteInvestigation(investigation_id=investigation_id, result_summary="Limits"), clock
    )
    # Who ordered it is its requester, whoever completes it.
    assert decision.events[0].ordered_by == NURSE  # type: ignore[union-attr]
    refused(
        state,
        a.CompleteInvestigation(investigation_id=investigation_id, result_summary="again"),
        clock,
        "already completed",
    )
    state, _ = do(state, NURSE, a.CompleteAssessment(summary="Reduced", recommendation="Rehabilitation"), clock)
    assert state.stage is Stage.PLANNING


# -- the plan and its services -----------------------------------------------------------------------------------


def test_a_revised_plan_cancels_the_planned_services_left_out_and_keeps_the_active_ones(clock: Clock) -> None:
    state = in_services(clock)
    first, second = (service.service_id for service in state.services)
    state, _ = do(state, NURSE, a.UpdateService(service_id=first, change=ServiceStatusChange.STARTED), clock)
    refused(
        state,
        a.SetPlan(services=[a.PlannedServiceInput(kind=ServiceKind.OTHER, provider="x", planned_start=clock.now)]),
        clock,
        f"active service {first} is missing",
    )
    revision = a.SetPlan(
        services=[
            a.PlannedServiceInput(
                service_id=first, kind=ServiceKind.SOCIAL_WORK, provider="P0", planned_start=clock.now
            ),
            a.PlannedServiceInput(kind=ServiceKind.STUDY_GUIDANCE, provider="Guidance", planned_start=clock.now),
        ]
    )
    state, decision = do(state, NURSE, revision, clock)
    cancelled, plan = decision.events
    assert isinstance(cancelled, ServiceStatusChanged) and cancelled.service_id == second
    assert cancelled.because == "left_out_of_plan"
    assert isinstance(plan, PlanSet) and plan.kind is EventKind.PLAN_REVISED and plan.version == 2
    assert [service.new for service in plan.services] == [False, True]
    # The process keeps the current plan's services only.
    assert [service.service_id for service in state.services] == [first, decision.created_ids[0]]


def test_a_service_cannot_skip_its_status_order(clock: Clock) -> None:
    state = in_services(clock)
    service_id = state.services[0].service_id
    refused(
        state,
        a.UpdateService(service_id=service_id, change=ServiceStatusChange.COMPLETED),
        clock,
        "a planned service cannot be marked completed",
    )
    refused(state, a.UpdateService(service_id="nope", change=ServiceStatusChange.STARTED), clock, "no service nope")


def test_a_service_gap_notifies_then_escalates_and_a_started_service_ends_it(clock: Clock) -> None:
    policy = PathwayPolicy(service_gap_allowed=timedelta(days=14), service_gap_escalate_after=timedelta(days=14))
    state = in_services(clock, policy, services=1)
    service_id = state.services[0].service_id
    state, _ = do(state, NURSE, a.UpdateService(service_id=service_id, change=ServiceStatusChange.STARTED), clock)
    clock.now += timedelta(days=20)
    state, _ = do(state, NURSE, a.UpdateService(service_id=service_id, change=ServiceStatusChange.COMPLETED), clock)
    gap_started = clock.now
    assert deadlines.service_gap_started_at(state) == gap_started
    notice_at = gap_started + timedelta(days=14)
    kinds = {deadline.kind: deadline.due_at for deadline in deadlines.pending_deadlines(state)}
    assert kinds[DeadlineKind.SERVICE_GAP_NOTICE] == notice_at
    assert kinds[DeadlineKind.SERVICE_GAP_ESCALATION] == notice_at + timedelta(days=14)


# -- follow-up ---------------------------------------------------------------------------------------------------------


def test_a_follow_up_replans_the_next_one_and_reminders_fire_in_order(clock: Clock) -> None:
    policy = PathwayPolicy(
        follow_up_interval=timedelta(days=30),
        follow_up_reminder_before=timedelta(days=3),
        follow_up_grace=timedelta(days=7),
    )
    state = in_services(clock, policy, start_services=True)
    assert state.next_follow_up_due == T0 + timedelta(days=30)
    refused(
        state,
        a.RecordFollowUp(channel=ContactChannel.PHONE, note="x", contacted_at=clock.now + timedelta(days=1)),
        clock,
        "cannot be in the future",
    )
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.FOLLOW_UP_REMINDER and deadline.due_at == T0 + timedelta(days=27)
    assert isinstance(decision.events[0], FollowUpReminderSent)
    assert decision.notices[0].kind is NotificationKind.FOLLOW_UP_DUE_SOON and decision.notices[0].recipient == NURSE
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.FOLLOW_UP_OVERDUE and deadline.due_at == T0 + timedelta(days=37)
    assert {(n.kind, n.to) for n in decision.notices} == {
        (NotificationKind.FOLLOW_UP_OVERDUE, Recipient.CASE_MANAGER),
        (NotificationKind.ESCALATED_TO_TEAM_REVIEW, Recipient.COORDINATORS),
        (NotificationKind.ESCALATED_TO_TEAM_REVIEW, Recipient.CASE_MANAGER),
    }
    # Notice keys come from the deadline's own key: the same timer, replayed, decides the same keys.
    assert all(n.key.startswith(f"pathway-client-abcd:deadline:{deadline.key}:") for n in decision.notices)
    assert deadlines.is_overdue(state)
    state, _ = do(state, NURSE, a.RecordFollowUp(channel=ContactChannel.PHONE, note="Reached the client"), clock)
    assert state.next_follow_up_due == clock.now + timedelta(days=30)
    assert not deadlines.is_overdue(state)


def test_fired_deadline_keys_stay_bounded_over_a_long_pathway(clock: Clock) -> None:
    policy = PathwayPolicy(follow_up_interval=timedelta(days=7))
    state = in_services(clock, policy, start_services=True)
    for _week in range(200):
        _, state, _ = fire_next(state, clock)  # the reminder
        state, _ = do(state, NURSE, a.RecordFollowUp(channel=ContactChannel.PHONE, note="weekly"), clock)
    assert len(state.fired_deadline_keys) <= 2


# -- team review, outcome, sustainment, closure ------------------------------------------------------------------


def test_a_team_review_decision_settles_every_pending_review(clock: Clock) -> None:
    state = in_services(clock)
    state, _ = do(state, NURSE, a.RequestTeamReview(reason="Situation changed"), clock)
    refused(state, a.RequestTeamReview(reason="again"), clock, "already pending")
    refused(
        state,
        a.DecideTeamReview(decision=TeamReviewDecision.CHANGE_CASE_MANAGER, note="x", new_case_manager=NURSE),
        clock,
        "already the case manager",
    )
    state, decision = do(
        state, COORDINATOR, a.DecideTeamReview(decision=TeamReviewDecision.REVISE_PLAN, note="New plan"), clock
    )
    assert state.stage is Stage.PLANNING and not state.pending_reviews
    assert decision.notices[0].kind is NotificationKind.TEAM_REVIEW_DECIDED
    refused(
        state, a.DecideTeamReview(decision=TeamReviewDecision.CONTINUE, note="x"), clock, "no team review is pending"
    )


def test_a_solution_that_did_not_hold_is_set_aside_and_brought_to_the_team(clock: Clock) -> None:
    state = in_services(clock)
    state, _ = do(state, NURSE, a.RecordOutcome(solution=LongTermSolution.EMPLOYMENT, description="Job"), clock)
    assert state.stage is Stage.SUSTAINMENT
    refused(state, a.ConfirmSustainment(held=True, note="early"), clock, "the sustainment period runs until")
    state, decision = do(state, NURSE, a.ConfirmSustainment(held=False, note="Lost the job"), clock)
    assert [event.kind for event in decision.events] == [
        EventKind.SOLUTION_DID_NOT_HOLD,
        EventKind.OUTCOME_SET_ASIDE,
        EventKind.TEAM_REVIEW_OPENED,
    ]
    assert state.stage is Stage.IN_SERVICES and state.outcome is None
    assert state.pending_reviews[0].cause is TeamReviewCause.SOLUTION_DID_NOT_HOLD


def test_closing_cancels_planned_services_and_settles_pending_reviews(clock: Clock) -> None:
    state = in_services(clock)
    state, _ = do(state, NURSE, a.RequestTeamReview(reason="Client moving"), clock)
    state, decision = do(state, NURSE, a.Close(reason=ClosureReason.MOVED_AWAY, note="Moved to Oulu"), clock)
    kinds = [event.kind for event in decision.events]
    assert kinds == [
        EventKind.SERVICE_CANCELLED,
        EventKind.SERVICE_CANCELLED,
        EventKind.TEAM_REVIEW_DECIDED,
        EventKind.CLOSED,
    ]
    assert all(service.status is ServiceStatus.CANCELLED for service in state.services)
    assert not state.pending_reviews and state.stage is Stage.CLOSED


def test_actions_are_refused_while_the_record_cannot_keep_up(clock: Clock) -> None:
    state = in_services(clock)
    state.unrecorded_events = list(range(MAX_UNRECORDED_EVENTS))  # type: ignore[arg-type]
    with pytest.raises(Refusal, match="cannot be written to the database"):
        rules.require_record_keeping_up(state)


# -- the rules against the record fold ---------------------------------------------------------------------------------


def test_the_record_folded_from_a_whole_pathway_holds_every_text(clock: Clock) -> None:
    """Everything the rules decided, folded in order, is the record staff read: texts included."""
    events: list[Any] = []

    def keep(step: Callable[[], tuple[ProcessState, Decision]]) -> ProcessState:
        state, decision = step()
        events.extend(decision.events)
        return state

    state = keep(lambda: started(clock))
    state = keep(
        lambda: do(
            state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE, note="Team agreed"), clock
        )
    )
    state = keep(lambda: do(state, NURSE, a.SetGoal(text="Oma tavoite: kaupan ala"), clock))
    state = keep(lambda: do(state, NURSE, a.CompleteAssessment(summary="Fair", recommendation="Try-out"), clock))
    state = keep(
        lambda: do(
            state,
            NURSE,
            a.SetPlan(
                services=[a.PlannedServiceInput(kind=ServiceKind.SOCIAL_WORK, provider="Sos", planned_start=clock.now)]
            ),
            clock,
        )
    )
    for index in range(25):
        follow_up = a.RecordFollowUp(channel=ContactChannel.REMOTE, note=f"contact {index}")
        state = keep(lambda before=state, follow_up=follow_up: do(before, NURSE, follow_up, clock))  # type: ignore[misc]
    state = keep(lambda: do(state, NURSE, a.RecordFeedback(rating=4, comment="Helpful"), clock))
    state = keep(lambda: do(state, COORDINATOR, a.Close(reason=ClosureReason.OTHER, note="Ended"), clock))
    record = apply_events(state.pathway_id, None, events)
    assert record is not None
    assert record.referral.reason == "Reduced work ability suspected"
    assert record.assessment is not None and record.assessment.triage_note == "Team agreed"
    assert [goal.text for goal in record.goals] == ["Oma tavoite: kaupan ala"]
    assert record.follow_up_count == 25 and record.follow_ups[-1].note == "contact 24" and len(record.follow_ups) == 20
    assert record.feedback[0].comment == "Helpful"
    assert record.closure is not None and record.closure.note == "Ended"
    assert record.services[0].status is ServiceStatus.CANCELLED
    assert record.recorded_sequence == state.last_event_sequence
    # Folding again (a retried batch) changes nothing.
    assert apply_events(state.pathway_id, record.model_copy(deep=True), events) == record


def test_every_declared_action_has_its_rule_route_and_fields(clock: Clock) -> None:
    names = [action.name for action in ACTIONS]
    assert len(names) == len(set(names))
    paths = [action.path for action in ACTIONS]
    assert len(paths) == len(set(paths))
    for action in ACTIONS:
        for field in action.path_fields:
            assert field in action.fields.model_fields, (action.name, field)
        for field in action.names_case_manager:
            assert field in action.fields.model_fields, (action.name, field)
        assert "actor" not in action.fields.model_fields, f"{action.name}: the actor comes from the sign-in"


def test_the_rules_never_change_the_state_they_are_given(clock: Clock) -> None:
    state = in_services(clock)
    before = state.model_copy(deep=True)
    do(state, NURSE, a.RecordFollowUp(channel=ContactChannel.PHONE, note="x"), clock)
    rules.fire(state, deadlines.next_deadline(state), now=clock.now, new_id=clock.new_id)  # type: ignore[arg-type]
    assert state == before


def test_an_outcome_set_aside_by_a_reassessment_leaves_the_record_with_a_past_outcome(clock: Clock) -> None:
    state = in_services(clock)
    events: list[Any] = []
    state, decision = do(state, NURSE, a.RecordOutcome(solution=LongTermSolution.STUDIES, description="College"), clock)
    events += decision.events
    state, decision = do(state, NURSE, a.RequestTeamReview(reason="Dropped out"), clock)
    events += decision.events
    state, decision = do(
        state, COORDINATOR, a.DecideTeamReview(decision=TeamReviewDecision.REASSESS, note="Reassess"), clock
    )
    events += decision.events
    assert any(isinstance(event, OutcomeSetAside) for event in events)
    assert state.stage is Stage.ASSESSMENT and state.outcome is None
    assert decision.events[-1].kind is EventKind.REASSESSMENT_STARTED
