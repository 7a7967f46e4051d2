"""A deadline that falls due in the same workflow task as a staff action is recorded after the task, by
the activity: the action's update is not in the history until the task completes, and what the deadline
decided then depends on it.

Arranged with real processes: the worker is SIGKILLed (so the server still counts its poller and accepts
the update), the reminder's timer fires with no worker, the action is sent, and a new worker handles both
in one task.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from core.temporal import data_converter
from models import actions as a
from models.pathway import NotificationKind, PathwayPolicy, TriageRoute
from models.process import ProcessState
from models.tables import Notification, NotificationChannel, PathwayRow
from tests.ops.helpers import stop_process
from tests.support.helpers import COORDINATOR, NURSE, do, eventually, service, start_fixed
from tests.support.history import LOCAL_ACTIVITY_MARKER, commands_of_task_after_timer, kinds, markers
from workflows.client import get_process

from .helpers import (
    duplicated_notification_keys,
    fault_stage,
    recorded_sequences,
    start_worker,
)

# Long enough to drive the pathway into services and kill the worker before the reminder is due.
REMINDER_AFTER_PLAN = timedelta(seconds=8)


async def _event_types(handle: WorkflowHandle[Any, Any]) -> list[EventType.ValueType]:
    return [event.event_type for event in (await handle.fetch_history()).events]


async def test_a_reminder_due_in_the_task_of_a_staff_action_is_recorded_by_the_activity_after_it(
    tmp_path: Path,
) -> None:
    with fault_stage(tmp_path) as (database_url, _tokens, engine, queue, server):
        client = await Client.connect(server.address, data_converter=data_converter())
        policy = PathwayPolicy(
            follow_up_interval=REMINDER_AFTER_PLAN + timedelta(seconds=1),
            follow_up_reminder_before=timedelta(seconds=1),
            follow_up_grace=timedelta(hours=1),
        )
        first = start_worker(server.address, queue, database_url, tmp_path / "worker-1.log")
        try:
            handle = await start_fixed(client, queue, policy)
            await do(handle, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE))
            await do(handle, NURSE, a.CompleteAssessment(summary="s", recommendation="r"))
            answer = await do(handle, NURSE, a.SetPlan(services=[service()]))
            await eventually(
                lambda: _recorded_sequence(engine, handle.id) >= answer.last_event_sequence, what="the plan recorded"
            )
            # The reminder's timer starts in the task after the record activity completed: killed before that task
            # completes, the worker would leave no timer to fire.
            await eventually(lambda: _timer_started_after_last_activity(handle), what="the reminder's timer started")
        finally:
            await asyncio.to_thread(stop_process, first.process, signal.SIGKILL)

        async def timer_fired() -> bool:
            return EventType.EVENT_TYPE_TIMER_FIRED in await _event_types(handle)

        await eventually(timer_fired, timeout=30, what="the reminder's timer fired with no worker")
        action = asyncio.create_task(do(handle, NURSE, a.SetGoal(text="Back to work part-time")))
        await asyncio.sleep(1.0)  # the update waits on the server beside the timer's pending task
        second = start_worker(server.address, queue, database_url, tmp_path / "worker-2.log")
        try:
            goal = await asyncio.wait_for(action, 60)
            process = await eventually(lambda: _settled(handle), timeout=30, what="the goal and the reminder recorded")
            await asyncio.sleep(1.0)  # a second reminder would be in by now
            events = list((await handle.fetch_history()).events)
        finally:
            await asyncio.to_thread(stop_process, second.process)

        commands = commands_of_task_after_timer(events)
        types = [event.event_type for event in commands]
        assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED in types, kinds(commands)
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED in types, kinds(commands)
        assert not markers(commands, LOCAL_ACTIVITY_MARKER), kinds(commands)
        # Both decisions are in the record once, and the reminder in the nurse's inbox once.
        # The action was handled first in the shared task, then the reminder (one event after the goal's).
        assert process.last_event_sequence == goal.last_event_sequence + 1
        assert recorded_sequences(engine, handle.id) == list(range(1, process.last_event_sequence + 1))
        assert len(_inbox(engine, handle.id, NotificationKind.FOLLOW_UP_DUE_SOON)) == 1
        assert duplicated_notification_keys(engine) == []
        assert "Traceback" not in second.log()


async def _timer_started_after_last_activity(handle: WorkflowHandle[Any, Any]) -> bool:
    types = await _event_types(handle)
    completed = [i for i, kind in enumerate(types) if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
    after = types[completed[-1] + 1 :] if completed else types
    return EventType.EVENT_TYPE_TIMER_STARTED in after


async def _settled(handle: WorkflowHandle[Any, Any]) -> ProcessState | None:
    process = await get_process(handle)
    return process if not process.unrecorded_events and not process.pending_notices else None


def _recorded_sequence(engine: Any, pathway_id: str) -> int:
    with Session(engine) as session:
        row = session.get(PathwayRow, pathway_id)
        return row.recorded_sequence if row is not None else 0


def _inbox(engine: Any, pathway_id: str, kind: NotificationKind) -> list[Notification]:
    with Session(engine) as session:
        statement = select(Notification).where(
            col(Notification.pathway_id) == pathway_id,
            col(Notification.channel) == NotificationChannel.INBOX,
            col(Notification.kind) == kind,
        )
        return list(session.scalars(statement).all())
