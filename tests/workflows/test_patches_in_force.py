"""A pathway this code starts, and each run it continues into, is begun with every workflow change in force
(`PathwayStart.patches_in_force`): no run of it writes a patch marker or upserts TemporalChangeVersion, two
events each that every run paid again (the first task's, and the first deadline's). A run begun without them,
as every run before the field was, still decides by `workflow.patched`: the saved histories replay that way
(tests/workflows/test_replay.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from models import actions as a
from models.pathway import ContactChannel, NotificationKind, PathwayPolicy
from models.process import PathwayStart
from tests.support.fixtures import Org
from tests.support.helpers import eventually, intake
from tests.support.history import PATCH_MARKER, markers, patch_markers
from tests.support.pathways import DrivenPathway, in_services, start_driven
from worker import Effects
from workflows.pathway import PATCH_SAFE_TRANSITIONS, PATCHES_IN_FORCE, PathwayWorkflow

CHANGE_VERSION = "TemporalChangeVersion"


def change_version_upserts(events: list[HistoryEvent]) -> list[HistoryEvent]:
    return [
        event
        for event in events
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        and CHANGE_VERSION in event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    ]


def started_input(events: list[HistoryEvent]) -> dict[str, object]:
    payload = events[0].workflow_execution_started_event_attributes.input.payloads[0].data
    started: dict[str, object] = json.loads(payload)
    return started


async def test_a_new_pathway_takes_every_change_without_a_marker_through_its_first_reminder(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    policy = PathwayPolicy(
        follow_up_interval=timedelta(seconds=3),
        follow_up_reminder_before=timedelta(seconds=1),
        follow_up_grace=timedelta(hours=1),
    )
    pathway = await start_driven(
        client, task_queue, sqlite_engine, worker.sealer, intake(org.team), registered_by=nurse, policy=policy
    )
    await in_services(pathway, org)
    await eventually(
        lambda: [n for n in pathway.inbox(nurse) if n.kind == NotificationKind.FOLLOW_UP_DUE_SOON],
        what="the follow-up reminder in the nurse's inbox",
    )
    process = await pathway.settled()
    assert process.safe_transitions, "the safe transitions are on"
    assert (await pathway.record()).reminders_sent == 1

    events = list((await pathway.handle.fetch_history()).events)
    assert started_input(events)["patches_in_force"] == list(PATCHES_IN_FORCE)
    assert markers(events, PATCH_MARKER) == []
    assert change_version_upserts(events) == []


async def test_a_continued_run_is_begun_with_every_change_in_force(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    pathway = await start_driven(
        client,
        task_queue,
        sqlite_engine,
        worker.sealer,
        intake(org.team),
        registered_by=nurse,
        policy=PathwayPolicy(continue_as_new_after_events=60),
    )
    await in_services(pathway, org)
    while (await pathway.process()).runs == 1:
        await pathway.do(nurse, a.RecordFollowUp(channel=ContactChannel.PHONE, note="called"))
    process = await pathway.settled()
    assert process.safe_transitions

    events = list((await pathway.handle.fetch_history()).events)  # the latest run's
    started = started_input(events)
    assert started["carried"] is not None, "a continued run"
    assert started["patches_in_force"] == list(PATCHES_IN_FORCE)
    assert markers(events, PATCH_MARKER) == []
    assert change_version_upserts(events) == []


async def test_a_run_begun_without_changes_in_force_decides_them_by_patch_markers(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    # The input of every run begun before `patches_in_force` existed.
    referral = intake(org.team)
    pathway_id = f"pathway-{referral.client_reference}"
    await client.start_workflow(
        PathwayWorkflow.run,
        PathwayStart(intake=referral, registered_by=org.nurse.staff_id),
        id=pathway_id,
        task_queue=task_queue,
    )
    pathway = DrivenPathway(client=client, engine=sqlite_engine, sealer=worker.sealer, pathway_id=pathway_id)
    process = await pathway.settled()
    assert process.safe_transitions, "a new run takes the change, by its marker"

    events = list((await pathway.handle.fetch_history()).events)
    assert len(patch_markers(events, PATCH_SAFE_TRANSITIONS)) == 1
    assert len(change_version_upserts(events)) == 1
