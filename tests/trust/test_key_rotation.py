"""Rotating the encryption key keeps running pathways working; a missing key stops nothing for good."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle

from core.codec import KEY_ID_METADATA, PayloadDecryptionError
from models.pathway import (
    CompleteAssessmentInput,
    PathwayState,
    SetGoalInput,
    Stage,
    TriageInput,
    TriageRoute,
)
from tests.workflows.helpers import COORDINATOR, NURSE, eventually, intake, running_worker, start
from workflows.pathway import PathwayWorkflow

from .conftest import FileServer, KeyMaterial, client_reference


def _update_key_ids(history_events: Sequence[HistoryEvent]) -> list[bytes]:
    return [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads[0].metadata[
            KEY_ID_METADATA
        ]
        for event in history_events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


async def test_a_pathway_started_with_the_old_key_keeps_working_after_the_active_key_changes(
    file_server: FileServer, keys: KeyMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    queue = f"tq-{uuid.uuid4()}"
    client_a = await file_server.connect(keys.only_a)
    async with running_worker(client_a, queue):
        handle = await start(client_a, queue, intake(client_reference()))
        await handle.execute_update(
            PathwayWorkflow.triage,
            TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
        )

    # Rotation: key B is rolled out everywhere and made active, key A is still known.
    client_ab = await file_server.connect(keys.a_and_b_active_b)
    handle_ab: WorkflowHandle[PathwayWorkflow, PathwayState] = client_ab.get_workflow_handle_for(
        PathwayWorkflow.run, handle.id
    )
    async with running_worker(client_ab, queue):
        state = await handle_ab.execute_update(
            PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text="Back to work in logistics")
        )
        assert state.case_manager == NURSE  # written under key A, read under the new ring
        assert [goal.text for goal in state.goals] == ["Back to work in logistics"]
    history = await handle_ab.fetch_history()
    assert _update_key_ids(history.events) == [b"key-a", b"key-b"]

    # A process that has only key B cannot read what key A wrote, and says why.
    client_b = await file_server.connect(keys.only_b)
    handle_b: WorkflowHandle[PathwayWorkflow, PathwayState] = client_b.get_workflow_handle_for(
        PathwayWorkflow.run, handle.id
    )
    description = await handle_b.describe()
    with pytest.raises(PayloadDecryptionError, match=r"key 'key-a', which this process does not know \(known: key-b\)"):
        await description.static_summary()

    # A worker with only key B fails the workflow task (retried), never the pathway.
    caplog.set_level(logging.ERROR, logger="temporalio.worker._workflow")
    update = asyncio.create_task(
        handle_b.execute_update(
            PathwayWorkflow.complete_assessment,
            CompleteAssessmentInput(actor=NURSE, summary="Done", recommendation="Employment services"),
        )
    )
    async with running_worker(client_b, queue):
        await eventually(
            lambda: any(_mentions_unknown_key_a(record) for record in caplog.records),
            timeout=60,
            what="the worker with only key B reported that it does not know key A",
        )
    assert not update.done()
    # Once a worker with both keys is back, the waiting update goes through: nothing was lost.
    async with running_worker(client_ab, queue):
        state = await update
    assert state.stage is Stage.PLANNING
    assert state.goals[0].text == "Back to work in logistics"


def _mentions_unknown_key_a(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return isinstance(error, PayloadDecryptionError) and "key 'key-a', which this process does not know" in str(error)
