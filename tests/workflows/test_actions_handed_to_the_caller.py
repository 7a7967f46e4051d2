"""A staff action whose caller files the record (the staff API) gets its decisions back in the update's
answer: no record activity, no second workflow task. The answer leaves the server only once its task is in
the history, so what it hands over is durable; if the caller dies before filing it, the pathway's next
action, a retry with the same key, its next deadline or its closing files it. Real dev server and worker,
SQLite file; losing an answer is done by not filing it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from models import actions as a
from models.events import EventKind
from models.pathway import ClosureReason, ContactChannel, NotificationKind, PathwayPolicy, TriageRoute
from records.filing import RecordFiler
from tests.support.fixtures import Org
from tests.support.helpers import eventually, intake, service
from tests.support.history import LOCAL_ACTIVITY_MARKER, commands_of_task_after_timer, markers
from tests.support.pathways import DrivenPathway, start_driven
from worker import Effects


def _filer(worker: Effects) -> RecordFiler:
    return worker.outbox.filer(worker.sealer)


async def _pathway(
    client: Client, task_queue: str, engine: Engine, org: Org, worker: Effects, policy: PathwayPolicy | None = None
) -> DrivenPathway:
    return await start_driven(
        client,
        task_queue,
        engine,
        worker.sealer,
        intake(org.team),
        registered_by=org.nurse.staff_id,
        policy=policy,
        filer=_filer(worker),
    )


def _recorded_sequence(pathway: DrivenPathway) -> int:
    row = pathway.row()
    assert row is not None
    return row.recorded_sequence


def _kinds(pathway: DrivenPathway) -> list[EventKind]:
    return [event.kind for event in pathway.events()]


async def _event_types(pathway: DrivenPathway) -> list[EventType.ValueType]:
    return [event.event_type for event in (await pathway.handle.fetch_history()).events]


async def test_an_action_filed_from_its_answer_takes_one_task_and_no_activity(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    pathway = await _pathway(client, task_queue, sqlite_engine, org, worker)
    await pathway.record()  # the referral, written by the first task

    triage = await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    # Filed before the answer is returned: no waiting for a worker to catch up.
    assert _recorded_sequence(pathway) == triage.last_event_sequence
    assert NotificationKind.ASSIGNED_CASE_MANAGER in [n.kind for n in pathway.inbox(nurse)]
    goal = await pathway.do(nurse, a.SetGoal(text="Work in a bakery"))
    assert _recorded_sequence(pathway) == goal.last_event_sequence
    assert _kinds(pathway)[-1] is EventKind.GOAL_SET

    # The second action told the workflow the first one's batch is filed; only its own waits for the next.
    process = await pathway.process()
    assert process.recorded_event_sequence == triage.last_event_sequence
    assert [event.sequence for event in process.unrecorded_events] == [goal.last_event_sequence]
    assert process.handed_upto == goal.last_event_sequence

    types = await _event_types(pathway)
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types
    # From the first action on, one workflow task per action and nothing after it.
    actions = types[types.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) - 1 :]
    assert actions.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 2
    assert actions.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) == 2
    assert actions[-1] is not EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED


async def test_an_answer_lost_before_filing_is_handed_over_again_by_the_next_action(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    pathway = await _pathway(client, task_queue, sqlite_engine, org, worker)
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))

    lost = await pathway.hand_over(nurse, a.RecordFollowUp(channel=ContactChannel.PHONE, note="Called"))
    assert lost.record is not None and [e.kind for e in lost.record.events] == [EventKind.FOLLOW_UP_RECORDED]
    # The caller died before its commit: the database lacks the follow-up, the process still holds it.
    assert _recorded_sequence(pathway) < lost.last_event_sequence
    process = await pathway.process()
    assert [event.sequence for event in process.unrecorded_events] == [lost.last_event_sequence]

    goal = await pathway.do(nurse, a.SetGoal(text="Work in a bakery"))
    assert _recorded_sequence(pathway) == goal.last_event_sequence
    assert _kinds(pathway)[-2:] == [EventKind.FOLLOW_UP_RECORDED, EventKind.GOAL_SET]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in await _event_types(pathway)


async def test_a_retry_with_the_same_key_hands_the_lost_answer_over_again_and_applies_once(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    pathway = await _pathway(client, task_queue, sqlite_engine, org, worker)
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    follow_up = a.RecordFollowUp(channel=ContactChannel.PHONE, note="Called")

    lost = await pathway.hand_over(nurse, follow_up, update_id="follow-up-1")
    retried = await pathway.hand_over(nurse, follow_up, update_id="follow-up-1")
    assert retried == lost, "Temporal answers a retried update with its first result"
    assert retried.record is not None
    pathway.file(retried.record)
    pathway.file(retried.record)  # twice, as two API processes might: nothing twice
    assert _kinds(pathway).count(EventKind.FOLLOW_UP_RECORDED) == 1
    assert _recorded_sequence(pathway) == lost.last_event_sequence


async def test_a_lost_answer_is_filed_by_the_next_deadline_in_its_own_task(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    # The follow-up reminder falls due 3 s after the plan; the overdue escalation long after the test.
    policy = PathwayPolicy(
        follow_up_interval=timedelta(seconds=4),
        follow_up_reminder_before=timedelta(seconds=1),
        follow_up_grace=timedelta(hours=1),
    )
    pathway = await _pathway(client, task_queue, sqlite_engine, org, worker, policy)
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    await pathway.do(nurse, a.CompleteAssessment(summary="s", recommendation="r"))
    await pathway.do(nurse, a.SetPlan(services=[service()]))
    lost = await pathway.hand_over(nurse, a.SetGoal(text="Work in a bakery"))
    assert _recorded_sequence(pathway) < lost.last_event_sequence

    def reminded() -> bool:
        return any(n.kind == NotificationKind.FOLLOW_UP_DUE_SOON for n in pathway.inbox(nurse))

    await eventually(reminded, what="the follow-up reminder")
    # The local activity writes inside the timer's task: wait for the task itself to complete.
    process = await pathway.settled()
    assert not process.unrecorded_events and not process.pending_notices
    kinds = _kinds(pathway)
    assert EventKind.GOAL_SET in kinds, kinds
    assert kinds.index(EventKind.GOAL_SET) < kinds.index(EventKind.FOLLOW_UP_REMINDER_SENT)
    events = list((await pathway.handle.fetch_history()).events)
    assert len(markers(commands_of_task_after_timer(events), LOCAL_ACTIVITY_MARKER)) == 1
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in [event.event_type for event in events]

    # The lost answer's batch filed after all (an API that was only slow): the status it carries is older than
    # the deadline's and is not written over it.
    before = pathway.row()
    assert before is not None and lost.record is not None and lost.record.status is not None
    stale = lost.record.status.next_deadline
    assert stale is not None and stale.kind.value != before.next_deadline_kind
    pathway.file(lost.record)
    after = pathway.row()
    assert after is not None
    assert (after.next_deadline_kind, after.next_deadline_at) == (before.next_deadline_kind, before.next_deadline_at)
    assert _kinds(pathway).count(EventKind.GOAL_SET) == 1


async def test_a_pathway_whose_closing_answer_was_lost_files_it_before_it_completes(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    pathway = await _pathway(client, task_queue, sqlite_engine, org, worker)
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    lost = await pathway.hand_over(nurse, a.Close(reason=ClosureReason.MOVED_AWAY, note="Moved to Oulu"))
    assert lost.record is not None

    closing = await pathway.handle.result()
    assert closing.last_event_sequence == lost.last_event_sequence
    row = pathway.row()
    assert row is not None and row.closed_at is not None and row.closure_reason == ClosureReason.MOVED_AWAY.value
    assert row.recorded_sequence == lost.last_event_sequence
    # The workflow's own activity filed it; the API's copy, had it come, would have changed nothing.
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED in await _event_types(pathway)
    pathway.file(lost.record)
    assert _kinds(pathway).count(EventKind.CLOSED) == 1
