"""The process stays bounded whatever the pathway's age; the record in the database holds everything.

Measured at scale (20 years, two follow-ups a week at the maximum note length) by `make bench`; these
prove the mechanism on a real dev server: notes leave the state once recorded, runs continue as new, and
a staff action retried after continue-as-new applies once.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine
from temporalio.client import Client

from models import actions as a
from models.events import FollowUpRecorded
from models.pathway import NOTE_MAX_LENGTH, ContactChannel, PathwayPolicy
from tests.support.fixtures import Org
from tests.support.helpers import intake
from tests.support.pathways import in_services, start_driven
from worker import Effects

MAX_PROCESS_BYTES = 32 * 1024
MAX_ANSWER_BYTES = 4 * 1024


async def test_notes_leave_the_process_and_runs_continue_as_new_while_the_record_keeps_every_contact(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    policy = PathwayPolicy(continue_as_new_after_events=60)
    pathway = await start_driven(
        client,
        task_queue,
        sqlite_engine,
        worker.sealer,
        intake(org.team),
        registered_by=org.nurse.staff_id,
        policy=policy,
    )
    await in_services(pathway, org)
    contacts = 40
    for index in range(contacts):
        note = f"contact {index:03d} " + "x" * (NOTE_MAX_LENGTH - 12)
        answer = await pathway.do(org.nurse.staff_id, a.RecordFollowUp(channel=ContactChannel.PHONE, note=note))
        assert len(answer.model_dump_json()) <= MAX_ANSWER_BYTES
    process = await pathway.settled()
    assert process.runs > 1, "the pathway continued as new"
    carried = process.model_dump_json()
    assert len(carried) <= MAX_PROCESS_BYTES
    assert "contact 0" not in carried, "recorded notes do not stay in the process"
    record = await pathway.record()
    assert record.follow_up_count == contacts
    assert record.follow_ups[-1].note.startswith(f"contact {contacts - 1:03d}")
    notes = [event.note for event in pathway.events() if isinstance(event, FollowUpRecorded)]
    assert [note[:11] for note in notes] == [f"contact {index:03d}" for index in range(contacts)]
    # Each run's history stays small: the second-to-last run's input is the bounded process.
    history = await pathway.handle.fetch_history()
    start_input = history.events[0].workflow_execution_started_event_attributes.input.payloads[0].data
    assert len(start_input) <= MAX_PROCESS_BYTES
    assert "contact 0" not in json.dumps(json.loads(start_input))


async def test_an_action_retried_with_its_key_after_continue_as_new_applies_once(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    policy = PathwayPolicy(continue_as_new_after_events=60)
    pathway = await start_driven(
        client,
        task_queue,
        sqlite_engine,
        worker.sealer,
        intake(org.team),
        registered_by=org.nurse.staff_id,
        policy=policy,
    )
    await in_services(pathway, org)
    key = "follow-up-2026-12-01-nurse"
    first = await pathway.do(
        org.nurse.staff_id, a.RecordFollowUp(channel=ContactChannel.PHONE, note="once"), update_id=key
    )
    runs = (await pathway.process()).runs
    while (await pathway.process()).runs == runs:
        await pathway.do(org.nurse.staff_id, a.RecordFeedback(rating=3))
    again = await pathway.do(
        org.nurse.staff_id, a.RecordFollowUp(channel=ContactChannel.PHONE, note="once"), update_id=key
    )
    assert again.repeated and not first.repeated
    record = await pathway.record()
    assert record.follow_up_count == 1
