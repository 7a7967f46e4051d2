"""Pathway states built by hand, for shapes that take the workflow months to reach.

Each builder step records the event the workflow would record, with the stage after it, so the
export sees the same timeline a running pathway would have.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.pathway import (
    Assessment,
    CaseManagerPeriod,
    Closure,
    ClosureReason,
    ContactChannel,
    EventKind,
    Feedback,
    FollowUp,
    FollowUpPlan,
    Goal,
    IntakeInput,
    LongTermSolution,
    Outcome,
    PathwayEvent,
    PathwayPolicy,
    PathwayState,
    PlannedService,
    ReferralSource,
    ServiceKind,
    ServiceStatus,
    Stage,
    TeamReview,
    TeamReviewCause,
    TriageRoute,
)

NURSE = "nurse.virtanen"
COORDINATOR = "coordinator.aalto"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class StateBuilder:
    def __init__(self, client_reference: str = "client-built-0001") -> None:
        self.now = T0
        self.state = PathwayState(
            pathway_id=f"pathway-{client_reference}",
            intake=IntakeInput(
                client_reference=client_reference,
                team="pori-team",
                referral_source=ReferralSource.SELF_REFERRAL,
                reason="Wants support after a long sick leave",
                registered_by=COORDINATOR,
                referred_at=T0,
            ),
            policy=PathwayPolicy(),
            referred_at=T0,
        )
        self.event(EventKind.REFERRAL_RECEIVED, COORDINATOR, referral_source="self_referral")

    def later(self, days: float) -> StateBuilder:
        self.now += timedelta(days=days)
        return self

    def event(self, kind: EventKind, actor: str = NURSE, **details: str) -> None:
        self.state.last_event_sequence += 1
        self.state.events.append(
            PathwayEvent(
                sequence=self.state.last_event_sequence,
                at=self.now,
                actor=actor,
                kind=kind,
                summary=kind.value,
                stage=self.state.stage,
                details=details,
            )
        )

    def triaged(self) -> StateBuilder:
        self.state.stage = Stage.ASSESSMENT
        self.state.assessment = Assessment(route=TriageRoute.HEALTH_CHECK, started_at=self.now)
        self.event(EventKind.TRIAGED, COORDINATOR, route="health_check")
        self.state.case_manager = NURSE
        self.state.case_manager_history.append(CaseManagerPeriod(staff_id=NURSE, assumed_at=self.now, reason="triage"))
        self.event(EventKind.CASE_MANAGER_ASSIGNED, COORDINATOR, case_manager=NURSE)
        return self

    def goal(self, text: str, achieved: bool = False) -> StateBuilder:
        self.state.goals.append(
            Goal(
                goal_id=f"goal-{len(self.state.goals)}",
                text=text,
                achieved=achieved,
                set_at=self.now,
                updated_at=self.now,
            )
        )
        self.event(EventKind.GOAL_SET)
        return self

    def in_services(self) -> StateBuilder:
        assert self.state.assessment is not None
        self.state.assessment.completed_at = self.now
        self.state.assessment.summary = "Assessment summary text"
        self.state.stage = Stage.PLANNING
        self.event(EventKind.ASSESSMENT_COMPLETED)
        self.later(2)
        self.state.services.append(
            PlannedService(
                service_id="service-0",
                kind=ServiceKind.VOCATIONAL_REHABILITATION,
                provider="Kela",
                planned_start=self.now,
                planned_end=self.now + timedelta(days=120),
                status=ServiceStatus.ACTIVE,
                started_at=self.now,
            )
        )
        self.state.plan = FollowUpPlan(version=1, set_at=self.now, follow_up_interval=timedelta(days=30))
        self.state.next_follow_up_due = self.now + timedelta(days=30)
        self.state.stage = Stage.IN_SERVICES
        self.event(EventKind.PLAN_SET)
        self.later(20)
        self.state.follow_ups.append(
            FollowUp(contacted_at=self.now, channel=ContactChannel.REMOTE, note="Video call note", recorded_by=NURSE)
        )
        self.state.next_follow_up_due = self.now + timedelta(days=30)
        self.event(EventKind.FOLLOW_UP_RECORDED)
        return self

    def outcome(self, solution: LongTermSolution = LongTermSolution.EMPLOYMENT) -> StateBuilder:
        self.state.services[0].status = ServiceStatus.COMPLETED
        self.state.services[0].ended_at = self.now
        self.state.outcome = Outcome(
            solution=solution,
            description="Permanent job at the sawmill",
            recorded_at=self.now,
            sustainment_until=self.now + self.state.policy.sustainment_period,
        )
        self.state.stage = Stage.SUSTAINMENT
        self.event(EventKind.OUTCOME_RECORDED, solution=solution.value)
        return self

    def held(self) -> StateBuilder:
        assert self.state.outcome is not None
        self.later(181)
        self.state.outcome.confirmed_at, self.state.outcome.held = self.now, True
        self.event(EventKind.SUSTAINMENT_CONFIRMED, solution=self.state.outcome.solution.value)
        self.state.feedback.append(
            Feedback(rating=5, comment="Thank you nurse", recorded_at=self.now, recorded_by=NURSE)
        )
        return self.closed(ClosureReason.COMPLETED)

    def did_not_hold(self) -> StateBuilder:
        assert self.state.outcome is not None
        self.later(60)
        self.state.outcome.confirmed_at, self.state.outcome.held = self.now, False
        self.event(EventKind.SOLUTION_DID_NOT_HOLD, solution=self.state.outcome.solution.value)
        self.state.past_outcomes.append(self.state.outcome)
        self.state.outcome = None
        self.state.stage = Stage.IN_SERVICES
        review = TeamReview(
            review_id="review-0",
            cause=TeamReviewCause.SOLUTION_DID_NOT_HOLD,
            reason="Lost the job after two months",
            opened_by=NURSE,
            opened_at=self.now,
        )
        self.state.team_reviews.append(review)
        self.event(EventKind.TEAM_REVIEW_OPENED, cause=review.cause.value, review_id=review.review_id)
        return self

    def closed(self, reason: ClosureReason) -> StateBuilder:
        self.state.closure = Closure(reason=reason, note="Closing note text", closed_at=self.now, closed_by=NURSE)
        for period in self.state.case_manager_history:
            period.renounced_at = period.renounced_at or self.now
        for service in self.state.services:
            if service.status is ServiceStatus.PLANNED:
                service.status, service.ended_at = ServiceStatus.CANCELLED, self.now
        solution = self.state.outcome.solution.value if self.state.outcome else ""
        self.state.stage = Stage.CLOSED
        self.event(EventKind.CLOSED, closure_reason=reason.value, solution=solution)
        return self
