"""With encryption on, nothing a pathway carries is readable in Temporal's database file."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import EventType

from activities.store import InMemoryEffectStore
from core.codec import ENCODING, KEY_ID_METADATA
from core.temporal import connect
from tests.workflows.helpers import COORDINATOR, TEAM, running_worker
from worker import build_worker

from .conftest import FileServer, KeyMaterial, database_bytes
from .pathway_with_notes import distinctive_marker, run_pathway_with_notes


async def test_notes_goals_and_feedback_are_not_readable_in_temporals_database_file_with_encryption_on(
    file_server: FileServer, keys: KeyMaterial
) -> None:
    # Encrypted side: the production client factory and worker, configured as operations would.
    settings = keys.only_a.model_copy(
        update={"temporal_address": file_server.target, "task_queue": f"tq-{uuid.uuid4()}"}
    )
    encrypted_client = await connect(settings)
    plain_client = await file_server.connect(None)
    secret = distinctive_marker("encrypted-note")
    # The control: the same pathway without encryption must be found, or the search proves nothing.
    visible = distinctive_marker("plain-note")

    async with build_worker(encrypted_client, settings, InMemoryEffectStore(coordinators={TEAM: [COORDINATOR]})):
        encrypted = await run_pathway_with_notes(encrypted_client, settings.task_queue, secret)
    async with running_worker(plain_client, queue := f"tq-{uuid.uuid4()}"):
        plain = await run_pathway_with_notes(plain_client, queue, visible)

    # Staff still read everything through the project's client.
    assert encrypted.state.goals[0].text.endswith(secret)
    assert encrypted.state.feedback[0].comment == f"Said {secret}"

    stored = database_bytes(file_server.database)
    assert stored.count(visible.encode()) > 0
    assert stored.count(secret.encode()) == 0
    # Nor any recognisable piece of it.
    assert stored.count(secret.split("-")[-1][:16].encode()) == 0

    # The payloads in the history say which key encrypted them (so rotation can find the right one).
    history = await encrypted.handle.fetch_history()
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    payload = started.workflow_execution_started_event_attributes.input.payloads[0]
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID_METADATA] == b"key-a"
    assert plain.handle.id != encrypted.handle.id
