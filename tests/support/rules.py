"""The pure rules driven as the workflow's handlers drive them: a clock, the actors, and helpers that
validate then apply an action, or fire the next deadline (tests/workflows/test_*rules.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from models import actions as a
from models.pathway import PathwayPolicy, ServiceKind, ServiceStatusChange, TriageRoute
from models.process import ProcessState
from workflows import deadlines, rules
from workflows.actions import BY_FIELDS
from workflows.rules import Decision, Refusal

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TEAM = "eura-team"
COORDINATOR, NURSE, SOCIAL_WORKER = "coordinator.aalto", "nurse.virtanen", "socialworker.nieminen"


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        return f"id-{next(self._ids):04d}"


def started(clock: Clock, policy: PathwayPolicy | None = None) -> tuple[ProcessState, Decision]:
    intake = a.Intake(
        client_reference="client-abcd",
        team=TEAM,
        referral_source="self_referral",
        reason="Reduced work ability suspected",
        referred_at=clock.now,
    )
    return rules.start(
        intake,
        pathway_id="pathway-client-abcd",
        registered_by=COORDINATOR,
        policy=policy or PathwayPolicy(),
        now=clock.now,
    )


def do(
    state: ProcessState, actor: str, fields: Any, clock: Clock, cause: str | None = None
) -> tuple[ProcessState, Decision]:
    """Validate, then apply, exactly as the workflow's update handler does."""
    action = BY_FIELDS[type(fields)]
    action.validate(state, fields, clock.now, actor)
    return rules.decide(
        state,
        action.apply,
        fields,
        now=clock.now,
        new_id=clock.new_id,
        cause=cause or f"update:{clock.new_id()}",
        actor=actor,
    )


def refused(state: ProcessState, fields: Any, clock: Clock, reason_part: str, actor: str = NURSE) -> None:
    with pytest.raises(Refusal) as refusal:
        BY_FIELDS[type(fields)].validate(state, fields, clock.now, actor)
    assert reason_part in refusal.value.reason, refusal.value.reason


def in_services(
    clock: Clock, policy: PathwayPolicy | None = None, services: int = 2, *, start_services: bool = False
) -> ProcessState:
    state, _ = started(clock, policy)
    state, _ = do(state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock)
    state, _ = do(state, NURSE, a.CompleteAssessment(summary="fair", recommendation="services"), clock)
    plan = a.SetPlan(
        services=[
            a.PlannedServiceInput(kind=ServiceKind.SOCIAL_WORK, provider=f"P{index}", planned_start=clock.now)
            for index in range(services)
        ]
    )
    state, decision = do(state, NURSE, plan, clock)
    if start_services:
        for service_id in decision.created_ids:
            state, _ = do(
                state, NURSE, a.UpdateService(service_id=service_id, change=ServiceStatusChange.STARTED), clock
            )
    return state


def fire_next(state: ProcessState, clock: Clock) -> tuple[Any, ProcessState, Decision]:
    upcoming = deadlines.next_deadline(state)
    assert upcoming is not None
    clock.now = max(clock.now, upcoming.due_at)
    new_state, decision = rules.fire(state, upcoming, now=clock.now, new_id=clock.new_id)
    return upcoming, new_state, decision
