"""The client's copy of the plan (issue 37) through the rules: giving it is on the timeline with the plan
version and the case manager it names; a revised plan or an accepted hand-over makes it out of date."""

from __future__ import annotations

from datetime import timedelta

from models import actions as a
from models.events import PathwayEvent, SummaryGiven
from models.pathway import ContactChannel, ServiceKind, SummaryChannel
from models.record import ClientCopyState, PathwayRecord, apply_events
from tests.support.rules import COORDINATOR, NURSE, SOCIAL_WORKER, Clock, do, in_services, refused, started
from workflows.rules import Decision


def test_the_client_copy_is_given_and_goes_out_of_date_when_the_plan_or_the_case_manager_changes(
    clock: Clock,
) -> None:
    state, start = started(clock)
    events: list[PathwayEvent] = list(start.events)
    refused(state, a.GiveSummary(channel=SummaryChannel.IN_PERSON), clock, "needs a case manager")

    def record() -> PathwayRecord:
        folded = apply_events(state.pathway_id, None, events)
        assert folded is not None
        return folded

    def act(actor: str, fields: object) -> Decision:
        nonlocal state
        state, decision = do(state, actor, fields, clock)
        events.extend(decision.events)
        return decision

    act(COORDINATOR, a.Triage(route="health_check", case_manager=NURSE))
    assert record().client_copy_state() is None  # nothing to give before there is a plan
    act(NURSE, a.CompleteAssessment(summary="s", recommendation="r"))
    service = a.PlannedServiceInput(kind=ServiceKind.SOCIAL_WORK, provider="P", planned_start=clock.now)
    act(NURSE, a.SetPlan(services=[service]))
    assert record().client_copy_state() is ClientCopyState.NOT_GIVEN

    given = act(NURSE, a.GiveSummary(channel=SummaryChannel.BY_POST))
    [event] = given.events
    assert isinstance(event, SummaryGiven) and (event.plan_version, event.case_manager) == (1, NURSE)
    assert record().client_copy_state() is ClientCopyState.CURRENT
    assert record().summary_given.channel is SummaryChannel.BY_POST  # type: ignore[union-attr]

    clock.now += timedelta(days=1)
    act(NURSE, a.SetPlan(services=[service, service.model_copy(update={"provider": "Q"})]))
    assert record().client_copy_state() is ClientCopyState.PLAN_CHANGED
    act(NURSE, a.GiveSummary(channel=SummaryChannel.IN_PERSON))
    assert record().client_copy_state() is ClientCopyState.CURRENT

    act(COORDINATOR, a.AssignCaseManager(case_manager=SOCIAL_WORKER, reason="Nurse moves to another team"))
    assert record().client_copy_state() is ClientCopyState.CURRENT  # the nurse stays responsible until accepted
    act(
        SOCIAL_WORKER,
        a.AcceptHandover(note="Briefed", client_informed=True, client_informed_via=ContactChannel.PHONE),
    )
    assert record().client_copy_state() is ClientCopyState.CASE_MANAGER_CHANGED


def test_a_closed_pathway_asks_for_no_copy(clock: Clock) -> None:
    state = in_services(clock)
    state, _ = do(state, NURSE, a.Close(reason="client_declined", note="Declined"), clock)
    refused(state, a.GiveSummary(channel=SummaryChannel.IN_PERSON), clock, "closed")


def test_a_copy_given_before_the_plan_is_no_copy_of_it_and_a_service_or_goal_change_dates_it(clock: Clock) -> None:
    state, start = started(clock)
    events: list[PathwayEvent] = list(start.events)

    def act(actor: str, fields: object) -> Decision:
        nonlocal state
        clock.now += timedelta(minutes=1)
        state, decision = do(state, actor, fields, clock)
        events.extend(decision.events)
        return decision

    def copy() -> ClientCopyState | None:
        folded = apply_events(state.pathway_id, None, events)
        assert folded is not None
        return folded.client_copy_state()

    act(COORDINATOR, a.Triage(route="health_check", case_manager=NURSE))
    act(NURSE, a.GiveSummary(channel=SummaryChannel.IN_PERSON))  # before there is a plan
    act(NURSE, a.CompleteAssessment(summary="s", recommendation="r"))
    service = a.PlannedServiceInput(kind=ServiceKind.SOCIAL_WORK, provider="P", planned_start=clock.now)
    [service_id] = act(NURSE, a.SetPlan(services=[service])).created_ids
    assert copy() is ClientCopyState.NOT_GIVEN
    act(NURSE, a.GiveSummary(channel=SummaryChannel.BY_EMAIL))
    assert copy() is ClientCopyState.CURRENT
    act(NURSE, a.UpdateService(service_id=service_id, change="started"))
    assert copy() is ClientCopyState.PLAN_CHANGED  # the service the copy calls planned has started
    act(NURSE, a.GiveSummary(channel=SummaryChannel.BY_EMAIL))
    act(NURSE, a.SetGoal(text="A new goal of the client's"))
    assert copy() is ClientCopyState.PLAN_CHANGED
