"""Rotating the encryption key keeps running pathways and their records readable; a missing key stops
nothing for good; re-sealing the record lets the old key go."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.service import RPCError

from core.codec import KEY_ID_METADATA, PayloadDecryptionError
from core.crypto import RecordSealer, SealedValueError
from core.db import PROJECT_ROOT
from core.settings import Settings
from models import actions as a
from models.pathway import Stage, TriageRoute
from models.process import ActionAnswer
from models.tables import PathwayEventRow, PathwayRow
from records import store
from tests.support.fixtures import make_org, migrated, running_worker
from tests.support.helpers import eventually, intake
from tests.support.pathways import DrivenPathway, start_driven

from .conftest import FileServer, KeyMaterial


def _update_key_ids(history_events: Sequence[HistoryEvent]) -> list[bytes]:
    return [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads[1].metadata[
            KEY_ID_METADATA
        ]
        for event in history_events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


async def test_a_pathway_started_with_the_old_key_keeps_working_after_the_active_key_changes(
    file_server: FileServer, keys: KeyMaterial, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'rotation.db'}"
    engine = migrated(url)
    org = make_org(engine)
    queue = f"tq-{uuid.uuid4()}"

    def settings_of(base: Settings) -> Settings:
        return base.model_copy(
            update={"temporal_address": file_server.target, "task_queue": queue, "database_url": url}
        )

    only_a, a_and_b, only_b = (settings_of(s) for s in (keys.only_a, keys.a_and_b_active_b, keys.only_b))
    client_a = await file_server.connect(keys.only_a)
    async with running_worker(client_a, only_a, engine) as effects:
        pathway = await start_driven(
            client_a, queue, engine, effects.sealer, intake(org.team), registered_by=org.nurse.staff_id
        )
        await pathway.do(
            org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=org.nurse.staff_id)
        )
        await pathway.record()

    # Rotation: key B is rolled out everywhere and made active, key A is still known.
    client_ab = await file_server.connect(keys.a_and_b_active_b)
    async with running_worker(client_ab, a_and_b, engine) as effects:
        pathway_ab = DrivenPathway(
            client=client_ab, engine=engine, sealer=effects.sealer, pathway_id=pathway.pathway_id
        )
        answer = await pathway_ab.do(org.nurse.staff_id, a.SetGoal(text="Back to work in logistics"))
        assert answer.case_manager == org.nurse.staff_id  # written under key A, read under the new ring
        record = await pathway_ab.record()
        assert [goal.text for goal in record.goals] == ["Back to work in logistics"]
    history = await client_ab.get_workflow_handle(pathway.pathway_id).fetch_history()
    assert _update_key_ids(history.events) == [b"key-a", b"key-b"]

    # A process that has only key B cannot read what key A wrote, and says why.
    client_b = await file_server.connect(keys.only_b)
    description = await client_b.get_workflow_handle(pathway.pathway_id).describe()
    with pytest.raises(PayloadDecryptionError, match=r"key 'key-a', which this process does not know \(known: key-b\)"):
        await description.static_summary()

    # A worker with only key B fails the workflow task (retried), never the pathway.
    caplog.set_level(logging.ERROR, logger="temporalio.worker._workflow")
    pathway_b = DrivenPathway(client=client_b, engine=engine, sealer=RecordSealer(None), pathway_id=pathway.pathway_id)
    assessment = a.CompleteAssessment(summary="Done", recommendation="Employment")
    update_id = f"key-rotation-{uuid.uuid4().hex}"
    update = asyncio.create_task(pathway_b.do(org.nurse.staff_id, assessment, update_id=update_id))
    async with running_worker(client_b, only_b, engine):
        await eventually(
            lambda: any(_mentions_unknown_key_a(record) for record in caplog.records),
            timeout=60,
            what="the worker with only key B reported that it does not know key A",
        )
    # The update waits; Temporal may instead refuse it while the task keeps failing ("Workflow Task in failed
    # state"), and then the client sends it again with the same id, as the API's callers do.
    assert not update.done() or _refused_while_failing(update.exception())
    # Once a worker with both keys is back, the update goes through, once: nothing was lost.
    async with running_worker(client_ab, a_and_b, engine):
        try:
            answer = await update
        except RPCError as err:
            assert _refused_while_failing(err), err
            pathway_ab = DrivenPathway(
                client=client_ab, engine=engine, sealer=RecordSealer(None), pathway_id=pathway.pathway_id
            )

            async def applied() -> ActionAnswer | None:
                # Temporal retries the failed task with a growing back-off: until that attempt, it refuses again.
                try:
                    return await pathway_ab.do(org.nurse.staff_id, assessment, update_id=update_id)
                except RPCError as again:
                    assert _refused_while_failing(again), again
                    return None

            answer = await eventually(applied, timeout=90, interval=1.0, what="the update once the task succeeds")
    assert answer.stage is Stage.PLANNING
    engine.dispose()


def _refused_while_failing(error: BaseException | None) -> bool:
    return isinstance(error, RPCError) and "Workflow Task in failed state" in str(error)


def _mentions_unknown_key_a(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return isinstance(error, PayloadDecryptionError) and "key 'key-a', which this process does not know" in str(error)


async def test_resealing_the_record_with_the_new_key_lets_the_old_key_go(
    file_server: FileServer, keys: KeyMaterial, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'reseal.db'}"
    engine = migrated(url)
    org = make_org(engine)
    queue = f"tq-{uuid.uuid4()}"
    only_a = keys.only_a.model_copy(
        update={"temporal_address": file_server.target, "task_queue": queue, "database_url": url}
    )
    client = await file_server.connect(keys.only_a)
    async with running_worker(client, only_a, engine) as effects:
        pathway = await start_driven(
            client, queue, engine, effects.sealer, intake(org.team), registered_by=org.nurse.staff_id
        )
        await pathway.do(
            org.coordinator.staff_id,
            a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=org.nurse.staff_id, note="Sealed note"),
        )
        await pathway.do(org.nurse.staff_id, a.RequestTeamReview(reason="Sealed reason"))
        await pathway.record()

    only_b_sealer = RecordSealer.from_settings(keys.only_b)
    with Session(engine) as session:
        row = session.get(PathwayRow, pathway.pathway_id)
        assert row is not None and row.record is not None
        with pytest.raises(SealedValueError, match="sealed with key 'key-a'"):
            store.open_record(only_b_sealer, row)

    # The operator's command, with key B active and key A still known.
    environment = {
        "PATHWAYS_DATABASE_URL": url,
        "PATHWAYS_ENCRYPTION_KEYS": keys.a_and_b_active_b.encryption_keys.get_secret_value(),
        "PATHWAYS_ENCRYPTION_ACTIVE_KEY": "key-b",
        "PATH": "/usr/bin:/bin",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ops.cli", "records", "reseal"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "sealed again with key key-b" in result.stdout and not result.stdout.startswith("0 ")

    with Session(engine) as session:
        row = session.get(PathwayRow, pathway.pathway_id)
        assert row is not None
        record = store.open_record(only_b_sealer, row)
        assert record is not None and record.assessment is not None and record.assessment.triage_note == "Sealed note"
        assert record.team_reviews[0].reason == "Sealed reason"
        texts = [event.texts for event in session.exec(select(PathwayEventRow)).all() if event.texts]
        assert texts and all(text.startswith("sealed:v1:key-b:") for text in texts)
    engine.dispose()
