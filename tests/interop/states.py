"""Pathways driven by the pure rules with a clock of their own, for shapes that take months to reach.

The builder runs the same transitions the workflow runs (`workflows.rules`) and folds the events into the
record as the database does (`models.record.apply_events`), so the export sees exactly what a real pathway
of that shape would give it, without waiting for it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from interop.fhir import FhirExportInput, StageChange
from models import actions as a
from models.events import Closed, FollowUpRecorded, PathwayEvent, PlanSet
from models.measures import GasOccasion, WorkAbilityOccasion
from models.pathway import (
    ClosureReason,
    ContactChannel,
    LongTermSolution,
    PathwayPolicy,
    ServiceKind,
    ServiceStatusChange,
    TriageRoute,
    pathway_id_for,
)
from models.process import ProcessState
from models.record import FollowUpRecord, apply_events
from workflows import deadlines, rules
from workflows.actions import BY_FIELDS

NURSE = "nurse.virtanen"
COORDINATOR = "coordinator.aalto"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class StateBuilder:
    def __init__(self, client_reference: str = "client-built-0001", ordinal: int = 1) -> None:
        self.now = T0
        self._ids = itertools.count(1)
        self._process, decision = rules.start(
            a.Intake(
                client_reference=client_reference,
                team="pori-team",
                referral_source="self_referral",
                reason="Wants support after a long sick leave",
                referred_at=T0,
            ),
            pathway_id=pathway_id_for(client_reference, ordinal),
            registered_by=COORDINATOR,
            policy=PathwayPolicy(),
            now=T0,
        )
        self.events: list[PathwayEvent] = list(decision.events)
        self.created: list[str] = []

    def later(self, days: float) -> StateBuilder:
        self.now += timedelta(days=days)
        return self

    def act(self, actor: str, fields: Any) -> StateBuilder:
        action = BY_FIELDS[type(fields)]
        action.validate(self._process, fields, self.now, actor)
        self._process, decision = rules.decide(
            self._process,
            action.apply,
            fields,
            now=self.now,
            new_id=lambda: f"item-{next(self._ids):04d}",
            cause=f"update:{next(self._ids)}",
            actor=actor,
        )
        self.events += decision.events
        self.created += decision.created_ids
        return self

    def fire_next(self) -> StateBuilder:
        upcoming = deadlines.next_deadline(self._process)
        assert upcoming is not None
        self.now = max(self.now, upcoming.due_at)
        self._process, decision = rules.fire(
            self._process, upcoming, now=self.now, new_id=lambda: f"item-{next(self._ids):04d}"
        )
        self.events += decision.events
        return self

    # -- the shapes the tests need ----------------------------------------------------------------------

    def triaged(self) -> StateBuilder:
        return self.act(COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE))

    def goal(self, text: str, achieved: bool = False) -> StateBuilder:
        return self.act(NURSE, a.SetGoal(text=text, achieved=achieved))

    def measured(self, start: int | None = 4, end: int | None = 7) -> StateBuilder:
        """Work ability measured: a score (or the client's choice not to answer) at triage, a GAS goal scored
        at a review and at the end, and a score at the long-term solution. Call it right after triage."""
        self.act(
            COORDINATOR, a.RecordWorkAbility(score=start, declined=start is None, occasion=WorkAbilityOccasion.TRIAGE)
        )
        levels = {name: f"Level {index - 2:+d} in the client's words" for index, name in enumerate(a.GAS_LEVEL_FIELDS)}
        self.act(
            NURSE,
            a.SetGoal(
                text="Back to work part time", gas_baseline=-1, target_date=self.now + timedelta(days=40), **levels
            ),
        )
        goal_id = self.created[-1]
        self.later(30)
        self.act(NURSE, a.ScoreGoal(goal_id=goal_id, attainment=-1, next_review_at=self.now + timedelta(days=60)))
        self.later(20)
        self.act(NURSE, a.ScoreGoal(goal_id=goal_id, attainment=1, occasion=GasOccasion.CLOSING))
        self.act(NURSE, a.RecordWorkAbility(score=end, declined=end is None, occasion=WorkAbilityOccasion.FOLLOW_UP))
        return self

    def in_services(self) -> StateBuilder:
        self.act(NURSE, a.CompleteAssessment(summary="Assessment summary text", recommendation="Recommendation text"))
        self.later(2)
        self.act(
            NURSE,
            a.SetPlan(
                services=[
                    a.PlannedServiceInput(
                        kind=ServiceKind.VOCATIONAL_REHABILITATION,
                        provider="Kela",
                        planned_start=self.now,
                        planned_end=self.now + timedelta(days=120),
                    )
                ],
                follow_up_interval=timedelta(days=30),
            ),
        )
        self.act(NURSE, a.UpdateService(service_id=self.created[-1], change=ServiceStatusChange.STARTED))
        self.later(20)
        return self.act(NURSE, a.RecordFollowUp(channel=ContactChannel.REMOTE, note="Video call note"))

    def outcome(self, solution: LongTermSolution = LongTermSolution.EMPLOYMENT) -> StateBuilder:
        service_id = next(service.service_id for service in self._process.services)
        self.act(NURSE, a.UpdateService(service_id=service_id, change=ServiceStatusChange.COMPLETED))
        return self.act(NURSE, a.RecordOutcome(solution=solution, description="Permanent job at the sawmill"))

    def held(self) -> StateBuilder:
        self.later(181)
        self.act(NURSE, a.RecordFeedback(rating=5, comment="Thank you nurse"))
        return self.act(NURSE, a.ConfirmSustainment(held=True, note="Still working"))

    def did_not_hold(self) -> StateBuilder:
        self.later(60)
        return self.act(NURSE, a.ConfirmSustainment(held=False, note="Lost the job after two months"))

    def review_requested(self, reason: str = "The situation changed") -> StateBuilder:
        return self.act(NURSE, a.RequestTeamReview(reason=reason))

    def closed(self, reason: ClosureReason) -> StateBuilder:
        return self.act(NURSE, a.Close(reason=reason, note="Closing note text"))

    # -- what the export reads -------------------------------------------------------------------------------

    @property
    def process(self) -> ProcessState:
        return self._process

    @property
    def state(self) -> FhirExportInput:
        record = apply_events(self._process.pathway_id, None, self.events)
        assert record is not None
        fired = set(self._process.fired_deadline_keys)
        overdue = any(
            deadline.kind.value == "follow_up_overdue" and deadline.key in fired
            for deadline in deadlines.all_deadlines(self._process)
        )
        return FhirExportInput(
            record=record,
            stage_changes=[
                StageChange(
                    at=event.at,
                    stage=event.stage,
                    closure_reason=event.closure_reason if isinstance(event, Closed) else None,
                )
                for event in self.events
            ],
            follow_ups=[
                FollowUpRecord(
                    sequence=e.sequence, contacted_at=e.contacted_at, channel=e.channel, note="", recorded_by=e.actor
                )
                for e in self.events
                if isinstance(e, FollowUpRecorded)
            ],
            plan_first_set_at=next((e.at for e in self.events if isinstance(e, PlanSet)), None),
            follow_up_overdue=overdue,
        )
