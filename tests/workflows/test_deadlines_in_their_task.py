"""A deadline that falls due is recorded in its own workflow task by a local activity: what it decides
follows from the state before the task and its timer's event, both in the history. (A deadline that
shares its task with a staff action is recorded after the task by the activity:
tests/faults/test_deadline_beside_an_action.py.)
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from models.pathway import NotificationKind, PathwayPolicy
from tests.support.fixtures import Org
from tests.support.helpers import eventually, intake
from tests.support.history import LOCAL_ACTIVITY_MARKER, commands_of_task_after_timer, kinds, markers
from tests.support.pathways import in_services, start_driven
from worker import Effects


async def test_a_reminder_is_recorded_in_the_task_its_timer_woke_without_an_activity(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    # The reminder falls due 2 s after the plan; the overdue escalation long after the test.
    policy = PathwayPolicy(
        follow_up_interval=timedelta(seconds=3),
        follow_up_reminder_before=timedelta(seconds=1),
        follow_up_grace=timedelta(hours=1),
    )
    pathway = await start_driven(
        client, task_queue, sqlite_engine, worker.sealer, intake(org.team), registered_by=nurse, policy=policy
    )
    await in_services(pathway, org)

    def reminders() -> list[object]:
        return [n for n in pathway.inbox(nurse) if n.kind == NotificationKind.FOLLOW_UP_DUE_SOON]

    await eventually(reminders, what="the follow-up reminder in the nurse's inbox")
    record = await pathway.record()
    assert record.reminders_sent == 1
    await pathway.settled()
    await asyncio.sleep(0.5)  # a second delivery would be in by now
    assert len(reminders()) == 1

    events = list((await pathway.handle.fetch_history()).events)
    commands = commands_of_task_after_timer(events)
    assert len(markers(commands, LOCAL_ACTIVITY_MARKER)) == 1, kinds(commands)
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in [event.event_type for event in commands]
