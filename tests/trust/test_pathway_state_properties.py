"""Property-based: any sequence of staff actions and deadlines leaves a pathway valid, a refused action
changes nothing, and the record folded from the events agrees with the process.

Hypothesis draws sequences of staff actions (the fields models of `models.actions`, referring to goals,
investigations and services that exist, or do not) and deadline firings, with the clock moving between
them. The pure rules run hundreds of sequences in seconds; `test_the_workflow_decides_what_the_rules_decide`
runs a few of them on the real dev server and worker.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from models import actions as a
from models.events import PathwayEvent
from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    ContactChannel,
    LongTermSolution,
    PathwayPolicy,
    ServiceKind,
    ServiceStatusChange,
    Stage,
    TeamReviewDecision,
    TriageRoute,
)
from models.process import ProcessState
from models.record import apply_events
from tests.support.fixtures import Org
from tests.support.helpers import intake
from tests.support.pathways import start_driven
from worker import Effects
from workflows import deadlines, rules
from workflows.actions import BY_FIELDS
from workflows.rules import Refusal

TEAM = "eura-team"
STAFF = ("coordinator.aalto", "nurse.virtanen", "socialworker.nieminen")
T0 = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    """One thing that happens: an action by someone, or time passing until the next deadline fires."""

    actor: str
    fields: Any = None  # a fields model; None: the next deadline fires
    advance: timedelta = timedelta(0)


# Item references point at "the n-th id given out so far" (or one that does not exist), resolved at run time.
ITEM = st.integers(min_value=0, max_value=5)


def _resolved(value: Any, ids: list[str]) -> Any:
    if isinstance(value, int):
        return ids[value] if value < len(ids) else f"missing-{value}"
    return value


ACTIONS = st.one_of(
    st.builds(
        lambda route, level, cm: ("triage", route, level, cm),
        st.sampled_from(list(TriageRoute)),
        st.sampled_from([None, *AssessmentLevel]),
        st.sampled_from(STAFF),
    ),
    st.builds(lambda cm: ("assign", cm), st.sampled_from(STAFF)),
    st.builds(lambda item, achieved: ("goal", item, achieved), st.one_of(st.none(), ITEM), st.booleans()),
    st.just(("investigation",)),
    st.builds(lambda item: ("complete_investigation", item), ITEM),
    st.just(("complete_assessment",)),
    st.builds(lambda keep, new: ("plan", keep, new), st.lists(ITEM, max_size=2), st.integers(min_value=0, max_value=2)),
    st.builds(lambda item, change: ("service", item, change), ITEM, st.sampled_from(list(ServiceStatusChange))),
    st.just(("follow_up",)),
    st.just(("request_review",)),
    st.builds(
        lambda decision, cm: ("decide", decision, cm), st.sampled_from(list(TeamReviewDecision)), st.sampled_from(STAFF)
    ),
    st.builds(lambda solution: ("outcome", solution), st.sampled_from(list(LongTermSolution))),
    st.booleans().map(lambda held: ("confirm", held)),
    st.just(("close",)),
    st.just(("feedback",)),
    st.just(("deadline",)),
)
SEQUENCES = st.lists(
    st.tuples(ACTIONS, st.sampled_from(STAFF), st.integers(min_value=0, max_value=40)), min_size=1, max_size=25
)


def fields_of(drawn: tuple[Any, ...], ids: list[str], now: datetime) -> Any | None:
    """The fields model for a drawn action (None for a deadline); a model a request would refuse is None too."""
    kind, *rest = drawn
    try:
        match kind:
            case "triage":
                route, level, case_manager = rest
                if route is TriageRoute.NO_NEED:
                    return a.Triage(route=route, redirect_note="Elsewhere")
                return a.Triage(
                    route=route,
                    assessment_level=level if route is TriageRoute.EXTENDED_ASSESSMENT else None,
                    case_manager=case_manager,
                )
            case "assign":
                return a.AssignCaseManager(case_manager=rest[0], reason="Handover")
            case "goal":
                item, achieved = rest
                return a.SetGoal(goal_id=None if item is None else _resolved(item, ids), text="Goal", achieved=achieved)
            case "investigation":
                return a.AddInvestigation(description="Examination")
            case "complete_investigation":
                return a.CompleteInvestigation(investigation_id=_resolved(rest[0], ids), result_summary="Result")
            case "complete_assessment":
                return a.CompleteAssessment(summary="Summary", recommendation="Recommendation")
            case "plan":
                keep, new = rest
                services = [
                    a.PlannedServiceInput(
                        service_id=_resolved(item, ids), kind=ServiceKind.SOCIAL_WORK, provider="P", planned_start=now
                    )
                    for item in dict.fromkeys(keep)
                ] + [a.PlannedServiceInput(kind=ServiceKind.OTHER, provider="Q", planned_start=now) for _ in range(new)]
                return a.SetPlan(services=services) if services else None
            case "service":
                return a.UpdateService(service_id=_resolved(rest[0], ids), change=rest[1])
            case "follow_up":
                return a.RecordFollowUp(channel=ContactChannel.PHONE, note="Contact")
            case "request_review":
                return a.RequestTeamReview(reason="Reason")
            case "decide":
                decision, case_manager = rest
                return a.DecideTeamReview(
                    decision=decision,
                    note="Decision",
                    new_case_manager=case_manager if decision is TeamReviewDecision.CHANGE_CASE_MANAGER else None,
                    closure_reason=ClosureReason.OTHER if decision is TeamReviewDecision.CLOSE else None,
                )
            case "outcome":
                return a.RecordOutcome(solution=rest[0], description="Solution")
            case "confirm":
                return a.ConfirmSustainment(held=rest[0], note="Checked")
            case "close":
                return a.Close(reason=ClosureReason.OTHER, note="Closed")
            case "feedback":
                return a.RecordFeedback(rating=3, comment="Comment")
    except ValueError:
        return None
    return None


def check_invariants(state: ProcessState, events: list[PathwayEvent]) -> None:
    assert [event.sequence for event in events] == list(range(1, state.last_event_sequence + 1)), (
        "events are contiguous"
    )
    record = apply_events(state.pathway_id, None, events)
    assert record is not None
    assert record.stage is state.stage and record.case_manager == state.case_manager
    assert (record.closure is not None) == (state.stage is Stage.CLOSED)
    assert len(record.pending_team_reviews()) == len(state.pending_reviews)
    assert {review.review_id for review in record.pending_team_reviews()} == {
        review.review_id for review in state.pending_reviews
    }
    if state.stage is Stage.SUSTAINMENT:
        assert state.outcome is not None and record.outcome is not None
    assert len(state.model_dump_json()) < 32 * 1024
    assert set(state.fired_deadline_keys) <= {deadline.key for deadline in deadlines.all_deadlines(state)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SEQUENCES)
def test_any_sequence_of_actions_and_deadlines_keeps_the_process_and_the_record_in_step(sequence: list[Any]) -> None:
    counter = itertools.count(1)
    now = T0
    state, decision = rules.start(
        a.Intake(
            client_reference="client-prop", team=TEAM, referral_source="self_referral", reason="r", referred_at=now
        ),
        pathway_id="pathway-client-prop",
        registered_by=STAFF[0],
        policy=PathwayPolicy(),
        now=now,
    )
    events = list(decision.events)
    ids: list[str] = []
    for drawn, actor, days in sequence:
        now += timedelta(days=days)
        if drawn[0] == "deadline":
            upcoming = deadlines.next_deadline(state)
            if upcoming is None:
                continue
            now = max(now, upcoming.due_at)
            state, decision = rules.fire(state, upcoming, now=now, new_id=lambda: f"id-{next(counter)}")
        else:
            fields = fields_of(drawn, ids, now)
            if fields is None:
                continue
            action = BY_FIELDS[type(fields)]
            before = state.model_copy(deep=True)
            try:
                action.validate(state, fields, now, actor)
            except Refusal as refusal:
                assert refusal.reason
                assert state == before, "a refusal changes nothing"
                continue
            state, decision = rules.decide(
                state,
                action.apply,
                fields,
                now=now,
                new_id=lambda: f"id-{next(counter)}",
                cause=f"update:{next(counter)}",
                actor=actor,
            )
            ids += decision.created_ids
        events += decision.events
        assert len({notice.key for notice in decision.notices}) == len(decision.notices), "notice keys are unique"
        check_invariants(state, events)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    st.lists(
        st.tuples(ACTIONS.filter(lambda drawn: drawn[0] != "deadline"), st.sampled_from([1, 2])),
        min_size=3,
        max_size=12,
    )
)
async def test_the_workflow_decides_what_the_rules_decide(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects, sequence: list[Any]
) -> None:
    """The durable shell on a real dev server: a refused action changes nothing, the record folded by the
    database agrees with the process, whatever the sequence."""
    staff = {1: org.nurse.staff_id, 2: org.coordinator.staff_id}
    pathway = await start_driven(
        client, task_queue, sqlite_engine, worker.sealer, intake(org.team), registered_by=org.nurse.staff_id
    )
    ids: list[str] = []
    for drawn, who in sequence:
        if drawn[0] in ("triage", "assign", "decide"):
            # Only members of the team can be named; the API checks that before the workflow sees it.
            drawn = (*drawn[:-1], org.social_worker.staff_id)
        fields = fields_of(drawn, ids, datetime.now(UTC))
        if fields is None:
            continue
        # Compared once the record has caught up: recording goes on in the background after each action.
        before = await pathway.settled()
        try:
            answer = await pathway.do(staff[who], fields)
        except (WorkflowUpdateFailedError, RPCError):
            # Refused by the rules, or by Temporal after the pathway closed (the API answers both with 409).
            assert (await pathway.settled()) == before, "a refused action changes nothing"
            continue
        ids += answer.created_ids
    process = await pathway.settled()
    record = await pathway.record()
    events = pathway.events()
    assert [event.sequence for event in events] == list(range(1, process.last_event_sequence + 1))
    assert apply_events(pathway.pathway_id, None, events) == record.model_copy(
        update={"pathway_id": pathway.pathway_id}
    )
    assert record.stage is process.stage and record.case_manager == process.case_manager
