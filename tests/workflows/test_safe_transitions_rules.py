"""Safe transitions as plain rules: every dated commitment fires, coverage across concurrent services,
warm hand-overs, referrals out with consent and network meetings; each refusal with its reason.

The dev-server tests (`test_safe_transitions.py`) prove the workflow runs these durably and that the
notices reach people; these pin each rule with any clock, in milliseconds.
"""

from __future__ import annotations

from datetime import timedelta

from models import actions as a
from models.events import (
    ConsentWithdrawn,
    DeadlineNoticed,
    NetworkMeetingHeld,
    PlanSet,
    ReferralAnswered,
    ReferralSent,
    ReferralWithdrawn,
    ServiceStatusChanged,
    TeamReviewOpened,
    TransitionDecided,
    TransitionOpened,
)
from models.pathway import (
    ConsentScope,
    ContactChannel,
    DeadlineKind,
    MeetingRole,
    NotificationKind,
    PathwayPolicy,
    ReferralAnswer,
    ReferralStatus,
    ServiceKind,
    ServiceStatus,
    ServiceStatusChange,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TransitionCause,
    TransitionDecision,
    TriageRoute,
)
from models.process import ProcessState, Recipient, WarningCode
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

KELA = "kela-satakunta"
PARTNER_ACTOR = f"partner:{KELA}"


def _service(kind: ServiceKind, start_days: int, end_days: int | None = None, **extra: object) -> a.PlannedServiceInput:
    return a.PlannedServiceInput(
        kind=kind,
        provider="Provider Oy",
        planned_start=T0 + timedelta(days=start_days),
        planned_end=T0 + timedelta(days=end_days) if end_days is not None else None,
        **extra,
    )


def _planning(clock: Clock, policy: PathwayPolicy | None = None, *, remote: bool = False) -> ProcessState:
    state, _ = started(clock, policy)
    state.remote_services_needed = remote
    state, _ = do(state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock)
    state, _ = do(state, NURSE, a.CompleteAssessment(summary="fair", recommendation="services"), clock)
    return state


def _consent(state: ProcessState, clock: Clock, *scopes: ConsentScope, expires_days: int | None = None) -> str:
    state_after, decision = do(
        state,
        NURSE,
        a.RecordConsent(
            partner_id=KELA,
            scopes=list(scopes) or [ConsentScope.REFERRAL],
            given_at=clock.now,
            expires_at=clock.now + timedelta(days=expires_days) if expires_days else None,
        ),
        clock,
    )
    state.__dict__.update(state_after.__dict__)
    return decision.created_ids[0]


# -- every dated commitment fires --------------------------------------------------------------------------------


def test_a_planned_start_missed_reminds_the_case_manager_then_goes_to_the_team(clock: Clock) -> None:
    state = _planning(clock)
    state, decision = do(state, NURSE, a.SetPlan(services=[_service(ServiceKind.SOCIAL_WORK, 5)]), clock)
    service_id = decision.created_ids[0]
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.SERVICE_START_MISSED and deadline.item_id == service_id
    assert deadline.due_at == T0 + timedelta(days=5 + 3)  # the planned start plus the commitment grace
    [noticed] = decision.events
    assert isinstance(noticed, DeadlineNoticed) and noticed.due_at == T0 + timedelta(days=5)
    assert [(n.kind, n.recipient, n.due_at) for n in decision.notices] == [
        (NotificationKind.SERVICE_START_MISSED, NURSE, T0 + timedelta(days=5))
    ]
    assert deadlines.is_overdue(state)
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.SERVICE_START_ESCALATION
    assert deadline.due_at == T0 + timedelta(days=5 + 3 + 14)
    opened = decision.events[0]
    assert isinstance(opened, TeamReviewOpened) and opened.cause is TeamReviewCause.SERVICE_NOT_STARTED
    # Starting the service settles both: nothing late is outstanding any more.
    state, _ = do(state, NURSE, a.UpdateService(service_id=service_id, change=ServiceStatusChange.STARTED), clock)
    assert not any(d.kind.value.startswith("service_start") for d in deadlines.all_deadlines(state))


def test_a_replanned_start_is_a_new_commitment(clock: Clock) -> None:
    state = _planning(clock)
    state, decision = do(state, NURSE, a.SetPlan(services=[_service(ServiceKind.SOCIAL_WORK, 5)]), clock)
    service_id = decision.created_ids[0]
    _, state, _ = fire_next(state, clock)
    assert deadlines.is_overdue(state)
    moved = _service(ServiceKind.SOCIAL_WORK, 30, service_id=service_id)
    state, _ = do(state, NURSE, a.SetPlan(services=[moved]), clock)
    assert not deadlines.is_overdue(state)
    upcoming = deadlines.next_deadline(state)
    assert upcoming is not None and upcoming.kind is DeadlineKind.SERVICE_START_MISSED
    assert upcoming.due_at == T0 + timedelta(days=33)


def test_an_active_service_past_its_planned_end_reminds_the_case_manager(clock: Clock) -> None:
    state = _planning(clock)
    state, decision = do(state, NURSE, a.SetPlan(services=[_service(ServiceKind.SOCIAL_WORK, 0, 20)]), clock)
    service_id = decision.created_ids[0]
    state, _ = do(state, NURSE, a.UpdateService(service_id=service_id, change=ServiceStatusChange.STARTED), clock)
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.SERVICE_END_PASSED and deadline.due_at == T0 + timedelta(days=23)
    assert decision.notices[0].kind is NotificationKind.SERVICE_END_PASSED
    state, _ = do(state, NURSE, a.UpdateService(service_id=service_id, change=ServiceStatusChange.COMPLETED), clock)
    assert not deadlines.is_overdue(state)


def test_an_investigation_past_its_due_date_reminds_then_escalates(clock: Clock) -> None:
    state, _ = started(clock)
    state, _ = do(
        state,
        COORDINATOR,
        a.Triage(route=TriageRoute.EXTENDED_ASSESSMENT, assessment_level="specialist", case_manager=NURSE),
        clock,
    )
    state, decision = do(
        state, NURSE, a.AddInvestigation(description="Neuropsychology", due_at=T0 + timedelta(days=10)), clock
    )
    investigation_id = decision.created_ids[0]
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.INVESTIGATION_OVERDUE and deadline.item_id == investigation_id
    assert decision.notices[0].kind is NotificationKind.INVESTIGATION_OVERDUE
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.INVESTIGATION_ESCALATION
    assert decision.events[0].cause is TeamReviewCause.INVESTIGATION_OVERDUE  # type: ignore[union-attr]
    state, _ = do(state, NURSE, a.CompleteInvestigation(investigation_id=investigation_id, result_summary="ok"), clock)
    assert not any(d.kind.value.startswith("investigation") for d in deadlines.all_deadlines(state))


def test_a_goal_past_its_target_date_asks_the_case_manager_to_review_it(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    state, decision = do(state, NURSE, a.SetGoal(text="Part-time work", target_date=T0 + timedelta(days=20)), clock)
    goal_id = decision.created_ids[0]
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.GOAL_REVIEW and deadline.due_at == T0 + timedelta(days=20)
    assert (decision.notices[0].kind, decision.notices[0].recipient) == (NotificationKind.GOAL_REVIEW_DUE, NURSE)
    assert not deadlines.is_overdue(state)  # a review prompt, not something late
    # A new target date is a new commitment.
    state, _ = do(
        state,
        NURSE,
        a.SetGoal(goal_id=goal_id, text="Part-time work", target_date=clock.now + timedelta(days=60)),
        clock,
    )
    upcoming = [d for d in deadlines.pending_deadlines(state) if d.kind is DeadlineKind.GOAL_REVIEW]
    assert [d.due_at for d in upcoming] == [clock.now + timedelta(days=60)]


def test_a_team_review_pending_too_long_reminds_the_coordinators(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    state, decision = do(state, NURSE, a.RequestTeamReview(reason="Situation changed"), clock)
    review_id = decision.created_ids[0]
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.TEAM_REVIEW_STALLED and deadline.item_id == review_id
    assert deadline.due_at == clock.now == T0 + timedelta(days=14)
    [notice] = decision.notices
    assert (notice.kind, notice.to, notice.review_id) == (
        NotificationKind.TEAM_REVIEW_STALLED,
        Recipient.COORDINATORS,
        review_id,
    )
    state, _ = do(state, COORDINATOR, a.DecideTeamReview(decision=TeamReviewDecision.CONTINUE, note="ok"), clock)
    assert not deadlines.is_overdue(state)


def test_policy_durations_are_the_pathways_own(clock: Clock) -> None:
    policy = PathwayPolicy(commitment_grace=timedelta(hours=1), commitment_escalate_after=timedelta(hours=2))
    state = _planning(clock, policy)
    state, _ = do(state, NURSE, a.SetPlan(services=[_service(ServiceKind.SOCIAL_WORK, 1)]), clock)
    due = [(d.kind, d.due_at) for d in deadlines.pending_deadlines(state) if d.kind.value.startswith("service_start")]
    assert due == [
        (DeadlineKind.SERVICE_START_MISSED, T0 + timedelta(days=1, hours=1)),
        (DeadlineKind.SERVICE_START_ESCALATION, T0 + timedelta(days=1, hours=3)),
    ]


# -- coverage across concurrent services ----------------------------------------------------------------------


def test_set_plan_warns_of_the_gaps_the_plan_already_has(clock: Clock) -> None:
    state = _planning(clock)
    plan = a.SetPlan(
        services=[
            _service(ServiceKind.VOCATIONAL_REHABILITATION, 0, 60),
            _service(ServiceKind.EMPLOYMENT_SERVICES, 150, 240),
        ]
    )
    state, decision = do(state, NURSE, plan, clock)
    gaps = [w for w in decision.warnings if w.code is WarningCode.PLAN_GAP]
    assert [(w.starts, w.ends) for w in gaps] == [
        (T0 + timedelta(days=60), T0 + timedelta(days=150)),  # the 90-day gap between the two
        (T0 + timedelta(days=240), None),  # nothing planned after the last one
    ]
    assert "90 days" in gaps[0].message
    assert state.stage is Stage.IN_SERVICES  # a warning, not a refusal
    # Overlapping or open-ended services leave no gap.
    state, decision = do(
        state,
        NURSE,
        a.SetPlan(services=[_service(ServiceKind.SOCIAL_WORK, 0, 60), _service(ServiceKind.HEALTH_SERVICES, 50)]),
        clock,
    )
    assert decision.warnings == []


def test_a_client_who_needs_remote_services_gets_a_warning_for_each_service_that_is_not(clock: Clock) -> None:
    state = _planning(clock, remote=True)
    plan = a.SetPlan(
        services=[_service(ServiceKind.SOCIAL_WORK, 0, remote=True), _service(ServiceKind.HEALTH_SERVICES, 0)]
    )
    state, decision = do(state, NURSE, plan, clock)
    [warning] = [w for w in decision.warnings if w.code is WarningCode.REMOTE_SERVICE_NEEDED]
    assert warning.service_id == decision.created_ids[1]


def test_an_interrupted_service_of_several_opens_a_transition_the_case_manager_must_decide(clock: Clock) -> None:
    state = in_services(clock, services=2, start_services=True)
    first, second = (service.service_id for service in state.services)
    state, decision = do(state, NURSE, a.UpdateService(service_id=first, change=ServiceStatusChange.INTERRUPTED), clock)
    opened = next(e for e in decision.events if isinstance(e, TransitionOpened))
    assert opened.cause is TransitionCause.INTERRUPTED and opened.active_services_left == 1
    transition_id = opened.transition_id
    assert [(n.kind, n.recipient) for n in decision.notices] == [(NotificationKind.TRANSITION_TO_DECIDE, NURSE)]
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.TRANSITION_REMINDER and deadline.due_at == T0 + timedelta(days=7)
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.TRANSITION_ESCALATION
    assert decision.events[0].cause is TeamReviewCause.TRANSITION_UNDECIDED  # type: ignore[union-attr]
    refused(
        state,
        a.DecideTransition(transition_id="nope", decision=TransitionDecision.ACCEPT, note="x"),
        clock,
        "no open transition nope",
    )
    replacement = _service(ServiceKind.MENTAL_HEALTH_SERVICES, 25)
    state, decision = do(
        state,
        NURSE,
        a.DecideTransition(
            transition_id=transition_id,
            decision=TransitionDecision.REPLACE,
            note="Therapy instead",
            replacement=replacement,
        ),
        clock,
    )
    plan = next(e for e in decision.events if isinstance(e, PlanSet))
    decided = next(e for e in decision.events if isinstance(e, TransitionDecided))
    assert plan.services[0].service_id == second and plan.services[-1].new
    assert decided.replacement_service_id == plan.services[-1].service_id
    assert decided.without_gap  # the second service stayed active throughout
    assert not state.transitions


def test_a_transition_after_which_the_client_had_no_service_is_not_closed_without_a_gap(clock: Clock) -> None:
    state = in_services(clock, services=2, start_services=True)
    first, second = (service.service_id for service in state.services)
    state, decision = do(state, NURSE, a.UpdateService(service_id=first, change=ServiceStatusChange.INTERRUPTED), clock)
    transition_id = decision.created_ids[0]
    state, _ = do(state, NURSE, a.UpdateService(service_id=second, change=ServiceStatusChange.COMPLETED), clock)
    state, decision = do(
        state,
        NURSE,
        a.DecideTransition(transition_id=transition_id, decision=TransitionDecision.TEAM_REVIEW, note="Team"),
        clock,
    )
    decided = next(e for e in decision.events if isinstance(e, TransitionDecided))
    assert not decided.without_gap and decided.review_id is not None
    assert state.pending_reviews[0].cause is TeamReviewCause.SERVICE_TRANSITION


def test_a_cancelled_planned_service_opens_a_transition_but_a_plan_revision_does_not(clock: Clock) -> None:
    state = in_services(clock, services=2)
    first = state.services[0].service_id
    state, decision = do(state, NURSE, a.UpdateService(service_id=first, change=ServiceStatusChange.CANCELLED), clock)
    assert [e.cause for e in decision.events if isinstance(e, TransitionOpened)] == [TransitionCause.CANCELLED]
    state, decision = do(state, NURSE, a.SetPlan(services=[_service(ServiceKind.HEALTH_SERVICES, 2)]), clock)
    assert not [e for e in decision.events if isinstance(e, TransitionOpened)]


def test_a_gap_in_sustainment_counts_while_a_service_waits_to_start(clock: Clock) -> None:
    policy = PathwayPolicy(service_gap_allowed=timedelta(days=5), service_gap_escalate_after=timedelta(days=5))
    state = _planning(clock, policy)
    plan = a.SetPlan(
        services=[_service(ServiceKind.EMPLOYMENT_SERVICES, 0, 30), _service(ServiceKind.STUDY_GUIDANCE, 60)]
    )
    state, decision = do(state, NURSE, plan, clock)
    working, guidance = decision.created_ids
    state, _ = do(state, NURSE, a.UpdateService(service_id=working, change=ServiceStatusChange.STARTED), clock)
    state, _ = do(state, NURSE, a.RecordOutcome(solution="employment", description="Job found"), clock)
    assert state.stage is Stage.SUSTAINMENT
    state, _ = do(state, NURSE, a.UpdateService(service_id=working, change=ServiceStatusChange.COMPLETED), clock)
    gap = [d for d in deadlines.pending_deadlines(state) if d.kind is DeadlineKind.SERVICE_GAP_NOTICE]
    assert [d.due_at for d in gap] == [clock.now + timedelta(days=5)]
    # With nothing waiting to start, the solution in place needs no service: no gap.
    state, _ = do(state, NURSE, a.UpdateService(service_id=guidance, change=ServiceStatusChange.CANCELLED), clock)
    assert not [d for d in deadlines.all_deadlines(state) if d.kind is DeadlineKind.SERVICE_GAP_NOTICE]


# -- warm hand-over ----------------------------------------------------------------------------------------------


def test_a_stalled_handover_reminds_the_incoming_case_manager_then_escalates(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    state, _ = do(state, COORDINATOR, a.AssignCaseManager(case_manager=SOCIAL_WORKER, reason="Social needs"), clock)
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.HANDOVER_REMINDER and deadline.due_at == T0 + timedelta(days=3)
    assert [(n.kind, n.recipient) for n in decision.notices] == [(NotificationKind.HANDOVER_REMINDER, SOCIAL_WORKER)]
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.HANDOVER_ESCALATION and deadline.due_at == T0 + timedelta(days=7)
    opened = decision.events[0]
    assert isinstance(opened, TeamReviewOpened) and opened.cause is TeamReviewCause.HANDOVER_STALLED
    assert {(n.to, n.recipient) for n in decision.notices} == {
        (Recipient.COORDINATORS, None),
        (Recipient.CASE_MANAGER, NURSE),
    }
    assert state.case_manager == NURSE  # still responsible


def test_a_declined_handover_tells_the_coordinators_and_leaves_the_case_manager_in_charge(clock: Clock) -> None:
    state = in_services(clock)
    state, _ = do(state, COORDINATOR, a.AssignCaseManager(case_manager=SOCIAL_WORKER, reason="x"), clock)
    refused(state, a.DeclineHandover(reason="On leave"), clock, "only socialworker.nieminen", actor=NURSE)
    state, decision = do(state, SOCIAL_WORKER, a.DeclineHandover(reason="On leave"), clock)
    assert state.handover is None and state.case_manager == NURSE
    assert {(n.kind, n.to) for n in decision.notices} == {
        (NotificationKind.HANDOVER_DECLINED, Recipient.COORDINATORS),
        (NotificationKind.HANDOVER_DECLINED, Recipient.STAFF),
    }


def test_a_new_proposal_replaces_a_pending_one_and_a_team_review_decision_proposes_too(clock: Clock) -> None:
    state = in_services(clock)
    state, _ = do(state, COORDINATOR, a.AssignCaseManager(case_manager=SOCIAL_WORKER, reason="x"), clock)
    state, decision = do(state, COORDINATOR, a.AssignCaseManager(case_manager="psych.nurse", reason="y"), clock)
    assert (NotificationKind.HANDOVER_WITHDRAWN, SOCIAL_WORKER) in [(n.kind, n.recipient) for n in decision.notices]
    assert state.handover is not None and state.handover.to == "psych.nurse"
    state, _ = do(state, COORDINATOR, a.WithdrawHandover(reason="Not needed"), clock)
    state, _ = do(state, NURSE, a.RequestTeamReview(reason="Needs a social worker"), clock)
    change = a.DecideTeamReview(
        decision=TeamReviewDecision.CHANGE_CASE_MANAGER, note="Social worker leads", new_case_manager=SOCIAL_WORKER
    )
    state, _ = do(state, COORDINATOR, change, clock)
    assert state.case_manager == NURSE and state.handover is not None and state.handover.to == SOCIAL_WORKER


def test_the_record_shows_the_handover_and_the_new_period_with_its_note(clock: Clock) -> None:
    state, first = started(clock)
    events = list(first.events)
    state, decision = do(state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock)
    events += decision.events
    state, decision = do(state, COORDINATOR, a.AssignCaseManager(case_manager=SOCIAL_WORKER, reason="Social"), clock)
    events += decision.events
    record = apply_events(state.pathway_id, None, events)
    assert record is not None and record.handover is not None and record.case_manager == NURSE
    clock.now += timedelta(days=2)
    accept = a.AcceptHandover(note="Met together", client_informed=True, client_informed_via=ContactChannel.IN_PERSON)
    state, decision = do(state, SOCIAL_WORKER, accept, clock)
    record = apply_events(state.pathway_id, record, decision.events)
    assert record is not None and record.handover is None and record.case_manager == SOCIAL_WORKER
    previous, current = record.case_manager_history
    assert previous.renounced_at == current.assumed_at == clock.now
    assert (current.reason, current.assigned_by, current.handover_note) == ("Social", COORDINATOR, "Met together")
    assert record.handovers[-1].outcome == "accepted"


# -- referrals out, with consent ---------------------------------------------------------------------------------


def _referred(clock: Clock) -> tuple[ProcessState, str, str, str]:
    state = _planning(clock)
    state, decision = do(
        state,
        NURSE,
        a.SetPlan(services=[_service(ServiceKind.VOCATIONAL_REHABILITATION, 20), _service(ServiceKind.SOCIAL_WORK, 0)]),
        clock,
    )
    rehab, social = decision.created_ids
    state, _ = do(state, NURSE, a.UpdateService(service_id=social, change=ServiceStatusChange.STARTED), clock)
    consent_id = _consent(state, clock, ConsentScope.REFERRAL)
    state, decision = do(state, NURSE, a.ReferService(service_id=rehab, partner_id=KELA, message="Needs rehab"), clock)
    return state, rehab, decision.created_ids[0], consent_id


def test_a_referral_needs_the_clients_consent_to_share_with_that_partner(clock: Clock) -> None:
    state = _planning(clock)
    state, decision = do(state, NURSE, a.SetPlan(services=[_service(ServiceKind.VOCATIONAL_REHABILITATION, 20)]), clock)
    service_id = decision.created_ids[0]
    refer = a.ReferService(service_id=service_id, partner_id=KELA, message="Needs rehab")
    refused(state, refer, clock, "has not consented to share a referral with kela-satakunta")
    _consent(state, clock, ConsentScope.NETWORK_MEETING)
    refused(state, refer, clock, "has not consented")  # the wrong scope
    _consent(state, clock, ConsentScope.REFERRAL, expires_days=30)
    state, decision = do(state, NURSE, refer, clock)
    sent = next(e for e in decision.events if isinstance(e, ReferralSent))
    assert sent.message == "Needs rehab" and sent.answer_due == clock.now + timedelta(days=10)
    [notice] = decision.notices
    assert (notice.kind, notice.to, notice.recipient, notice.referral_id) == (
        NotificationKind.REFERRAL_TO_PARTNER,
        Recipient.PARTNER,
        KELA,
        sent.referral_id,
    )
    # Once the consent expires, nothing more is referred under it.
    clock.now += timedelta(days=31)
    other = a.ReferService(service_id=service_id, partner_id=KELA, message="again")
    refused(state, other, clock, "has not consented")


def test_the_provider_answers_its_own_referral_and_the_service_follows(clock: Clock) -> None:
    state, rehab, referral_id, _ = _referred(clock)
    accepted = a.AnswerReferral(referral_id=referral_id, answer=ReferralAnswer.ACCEPTED)
    refused(state, accepted, clock, "answers only the referrals sent to it", actor="partner:other-provider")
    refused(state, a.SetGoal(text="x"), clock, "is for the team's staff, not for a partner", actor=PARTNER_ACTOR)
    state, decision = do(state, PARTNER_ACTOR, accepted, clock)
    answered = decision.events[0]
    assert isinstance(answered, ReferralAnswered) and answered.by_partner
    assert [(n.kind, n.recipient) for n in decision.notices] == [(NotificationKind.REFERRAL_ANSWERED, NURSE)]
    refused(state, accepted, clock, "cannot be answered accepted now", actor=PARTNER_ACTOR)
    ended = a.AnswerReferral(referral_id=referral_id, answer=ReferralAnswer.ENDED)
    refused(state, ended, clock, "cannot be answered ended now", actor=PARTNER_ACTOR)
    state, decision = do(state, PARTNER_ACTOR, a.AnswerReferral(referral_id=referral_id, answer="started"), clock)
    started_event = next(e for e in decision.events if isinstance(e, ServiceStatusChanged))
    assert started_event.because == "provider" and started_event.status is ServiceStatus.ACTIVE
    state, decision = do(state, PARTNER_ACTOR, ended, clock)
    assert next(s for s in state.services if s.service_id == rehab).status is ServiceStatus.COMPLETED


def test_an_unanswered_referral_reminds_the_case_manager_then_escalates(clock: Clock) -> None:
    state, _, referral_id, _ = _referred(clock)
    pending = [d for d in deadlines.pending_deadlines(state) if d.item_id == referral_id]
    assert [(d.kind, d.due_at) for d in pending] == [
        (DeadlineKind.REFERRAL_ANSWER_REMINDER, T0 + timedelta(days=10)),
        (DeadlineKind.REFERRAL_ANSWER_ESCALATION, T0 + timedelta(days=24)),
    ]
    state, decision = rules.fire(state, pending[0], now=pending[0].due_at, new_id=clock.new_id)
    assert decision.notices[0].kind is NotificationKind.REFERRAL_UNANSWERED
    state, decision = rules.fire(state, pending[1], now=pending[1].due_at, new_id=clock.new_id)
    assert decision.events[0].cause is TeamReviewCause.REFERRAL_UNANSWERED  # type: ignore[union-attr]


def test_a_declined_referral_cancels_the_service_and_opens_a_transition(clock: Clock) -> None:
    state, rehab, referral_id, _ = _referred(clock)
    refused(
        state,
        a.AnswerReferral.model_construct(referral_id=referral_id, answer=ReferralAnswer.DECLINED, reason=None),
        clock,
        "answers only the referrals sent to it",
        actor="partner:someone-else",
    )
    state, decision = do(
        state, PARTNER_ACTOR, a.AnswerReferral(referral_id=referral_id, answer="declined", reason="No places"), clock
    )
    cancelled = next(e for e in decision.events if isinstance(e, ServiceStatusChanged))
    assert cancelled.because == "declined_by_provider" and cancelled.status is ServiceStatus.CANCELLED
    opened = next(e for e in decision.events if isinstance(e, TransitionOpened))
    assert opened.cause is TransitionCause.DECLINED_BY_PROVIDER and opened.service_id == rehab


def test_withdrawing_consent_stops_sharing_and_opens_a_transition_for_the_waiting_service(clock: Clock) -> None:
    state, rehab, referral_id, consent_id = _referred(clock)
    state, decision = do(state, NURSE, a.WithdrawConsent(consent_id=consent_id), clock)
    kinds = [type(e) for e in decision.events]
    assert kinds[:3] == [ConsentWithdrawn, ReferralWithdrawn, TransitionOpened]
    assert [(n.kind, n.to, n.referral_id) for n in decision.notices if n.to is Recipient.PARTNER] == [
        (NotificationKind.REFERRAL_WITHDRAWN, Recipient.PARTNER, referral_id)
    ]
    assert not state.consents and not state.referrals
    refused(
        state,
        a.AnswerReferral(referral_id=referral_id, answer=ReferralAnswer.ACCEPTED),
        clock,
        f"no referral {referral_id} is open",
        actor=PARTNER_ACTOR,
    )
    refused(state, a.WithdrawConsent(consent_id=consent_id), clock, "no consent")
    refused(state, a.ReferService(service_id=rehab, partner_id=KELA, message="x"), clock, "has not consented")


def test_a_referral_sent_again_keeps_its_id_and_a_closed_pathway_withdraws_it(clock: Clock) -> None:
    state, rehab, referral_id, _ = _referred(clock)
    clock.now += timedelta(days=5)
    state, decision = do(state, NURSE, a.ReferService(service_id=rehab, partner_id=KELA, message="Again"), clock)
    sent = next(e for e in decision.events if isinstance(e, ReferralSent))
    assert sent.referral_id == referral_id and sent.resent
    state, decision = do(state, NURSE, a.Close(reason="moved_away", note="Moved"), clock)
    withdrawn = [e for e in decision.events if isinstance(e, ReferralWithdrawn)]
    assert [e.because for e in withdrawn] == ["pathway_closed"]
    assert NotificationKind.REFERRAL_WITHDRAWN in {n.kind for n in decision.notices}


def test_the_record_keeps_consents_referrals_and_answers(clock: Clock) -> None:
    state, first = started(clock)
    events = list(first.events)
    for fields, actor in (
        (a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), COORDINATOR),
        (a.CompleteAssessment(summary="s", recommendation="r"), NURSE),
        (a.SetPlan(services=[_service(ServiceKind.VOCATIONAL_REHABILITATION, 20)]), NURSE),
        (a.RecordConsent(partner_id=KELA, scopes=["referral"], given_at=clock.now), NURSE),
    ):
        state, decision = do(state, actor, fields, clock)
        events += decision.events
    service_id = state.services[0].service_id
    state, decision = do(state, NURSE, a.ReferService(service_id=service_id, partner_id=KELA, message="M"), clock)
    events += decision.events
    referral_id = state.referrals[0].referral_id
    state, decision = do(state, PARTNER_ACTOR, a.AnswerReferral(referral_id=referral_id, answer="accepted"), clock)
    events += decision.events
    record = apply_events(state.pathway_id, None, events)
    assert record is not None
    [consent] = record.consents
    assert consent.partner_id == KELA and consent.withdrawn_at is None
    referral = record.referral_out(referral_id)
    assert referral is not None and referral.status is ReferralStatus.ACCEPTED and referral.message == "M"
    assert [(answer.answer, answer.by_partner) for answer in referral.answers] == [(ReferralAnswer.ACCEPTED, True)]


# -- network meetings --------------------------------------------------------------------------------------------


def _participants(*partner_ids: str) -> list[a.MeetingParticipant]:
    return [
        a.MeetingParticipant(role=MeetingRole.TEAM_MEMBER, staff_id=NURSE),
        a.MeetingParticipant(role=MeetingRole.CLIENT, remote=True),
        *(a.MeetingParticipant(role=MeetingRole.PARTNER, partner_id=p, remote=True) for p in partner_ids),
    ]


def test_a_network_meeting_with_a_partner_needs_the_clients_consent_and_fires_like_a_deadline(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    meeting_at = T0 + timedelta(days=10)
    schedule = a.ScheduleNetworkMeeting(at=meeting_at, participants=_participants(KELA), remote=True)
    refused(state, schedule, clock, "not consented to kela-satakunta taking part in network meetings")
    _consent(state, clock, ConsentScope.NETWORK_MEETING)
    state, _ = do(state, NURSE, schedule, clock)
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.NETWORK_MEETING_REMINDER and deadline.due_at == meeting_at - timedelta(days=2)
    assert decision.notices[0].kind is NotificationKind.NETWORK_MEETING_SOON
    assert decision.notices[0].due_at == meeting_at
    deadline, state, decision = fire_next(state, clock)
    assert deadline.kind is DeadlineKind.NETWORK_MEETING_OVERDUE and deadline.due_at == meeting_at + timedelta(days=3)
    assert deadlines.is_overdue(state)


def test_a_network_meeting_revises_the_plan_and_sets_the_next_meeting(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    kept = state.services[0]
    clock.now += timedelta(days=1)
    revised = a.SetPlan(
        services=[
            a.PlannedServiceInput(
                service_id=kept.service_id, kind=kept.kind, provider="P0", planned_start=kept.planned_start
            ),
            a.PlannedServiceInput(
                service_id=state.services[1].service_id,
                kind=state.services[1].kind,
                provider="P1",
                planned_start=state.services[1].planned_start,
            ),
            _service(ServiceKind.REHABILITATIVE_WORK_ACTIVITY, 14),
        ]
    )
    held = a.RecordNetworkMeeting(
        held_at=clock.now,
        participants=_participants(),
        decisions="Work activity next",
        plan=revised,
        next_meeting_at=clock.now + timedelta(days=30),
    )
    refused(
        state,
        held.model_copy(update={"next_meeting_at": clock.now - timedelta(hours=1)}),
        clock,
        "next_meeting_at must be in the future",
    )
    state, decision = do(state, NURSE, held, clock)
    assert [type(e) for e in decision.events] == [NetworkMeetingHeld, PlanSet]
    assert state.plan is not None and state.plan.version == 2 and len(state.services) == 3
    assert state.next_meeting is not None and state.next_meeting.at == clock.now + timedelta(days=30)
    meeting_deadlines = [d for d in deadlines.pending_deadlines(state) if d.kind.value.startswith("network_meeting")]
    assert [d.kind for d in meeting_deadlines] == [
        DeadlineKind.NETWORK_MEETING_REMINDER,
        DeadlineKind.NETWORK_MEETING_OVERDUE,
    ]


def test_a_meeting_cannot_revise_the_plan_before_planning(clock: Clock) -> None:
    state, _ = started(clock)
    state, _ = do(
        state,
        COORDINATOR,
        a.Triage(route=TriageRoute.EXTENDED_ASSESSMENT, assessment_level="basic", case_manager=NURSE),
        clock,
    )
    held = a.RecordNetworkMeeting(
        held_at=clock.now,
        participants=_participants(),
        decisions="d",
        plan=a.SetPlan(services=[_service(ServiceKind.SOCIAL_WORK, 1)]),
    )
    refused(state, held, clock, "revises the plan at planning or in services, not at stage assessment")
    state, decision = do(state, NURSE, held.model_copy(update={"plan": None}), clock)
    assert isinstance(decision.events[0], NetworkMeetingHeld)


def test_closing_settles_every_open_commitment(clock: Clock) -> None:
    state, _, _, _ = _referred(clock)
    state, _ = do(state, COORDINATOR, a.AssignCaseManager(case_manager=SOCIAL_WORKER, reason="x"), clock)
    state, _ = do(
        state,
        NURSE,
        a.ScheduleNetworkMeeting(at=clock.now + timedelta(days=3), participants=_participants()),
        clock,
    )
    state, _ = do(state, NURSE, a.Close(reason="client_declined", note="Declined"), clock)
    assert state.handover is None and state.referrals == [] and state.next_meeting is None
    assert deadlines.all_deadlines(state) == []
