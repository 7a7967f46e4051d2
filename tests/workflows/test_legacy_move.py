"""A version-4 pathway (its whole record in its workflow state) moves its record into the database and
continues as the current workflow, with nothing lost and the state bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.worker import Replayer

from core.temporal import data_converter, strict_workflow_runner
from models import actions as a
from models.pathway import ContactChannel, Stage
from models.tables import PathwayRow, ProcessVersion
from records import store
from records.version_4_upgrade import move_version_4_records
from tests.support.fixtures import Org
from tests.support.helpers import client_reference, eventually
from tests.support.pathways import DrivenPathway
from worker import WORKFLOWS, Effects
from workflows.client import LEGACY_WORKFLOW_NAME, request_record_move, running_v4_pathways
from workflows.legacy import contract_v4 as v4
from workflows.legacy.pathway_v4 import PathwayWorkflowV4
from workflows.pathway import WORKFLOW_NAME


async def test_a_version_4_pathway_moves_its_record_and_continues_as_the_current_workflow(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse, coordinator = org.nurse.staff_id, org.coordinator.staff_id
    reference = client_reference()
    pathway_id = v4.pathway_id_for(reference)
    handle = await client.start_workflow(
        PathwayWorkflowV4.run,
        v4.PathwayStartInput(
            intake=v4.IntakeInput(
                client_reference=reference,
                team=org.team,
                referral_source=v4.ReferralSource.SELF_REFERRAL,
                reason="Version-4 referral reason",
                registered_by=coordinator,
            )
        ),
        id=pathway_id,
        task_queue=task_queue,
    )
    await handle.execute_update(
        PathwayWorkflowV4.triage,
        v4.TriageInput(actor=coordinator, route=v4.TriageRoute.HEALTH_CHECK, case_manager=nurse),
    )
    await handle.execute_update(PathwayWorkflowV4.set_goal, v4.SetGoalInput(actor=nurse, text="Version-4 goal"))
    for index in range(3):
        await handle.execute_update(
            PathwayWorkflowV4.record_follow_up,
            v4.RecordFollowUpInput(actor=nurse, channel=v4.ContactChannel.PHONE, note=f"v4 note {index}"),
        )

    def row() -> PathwayRow | None:
        with Session(sqlite_engine) as session:
            return session.get(PathwayRow, pathway_id)

    # Before the move the database has the version-4 timeline and a row without a record.
    await eventually(lambda: row() is not None and row().stage == "assessment", what="version-4 row")  # type: ignore[union-attr]
    assert row().process_version is ProcessVersion.V4 and row().record is None  # type: ignore[union-attr]
    assert pathway_id in [found async for found in running_v4_pathways(client)]

    await request_record_move(client, pathway_id)
    await request_record_move(client, pathway_id)  # asking twice is one move

    async def moved() -> bool:
        description = await client.get_workflow_handle(pathway_id).describe()
        return description.workflow_type == WORKFLOW_NAME

    await eventually(moved, what="continued as the current workflow")
    pathway = DrivenPathway(client=client, engine=sqlite_engine, sealer=worker.sealer, pathway_id=pathway_id)
    process = await pathway.settled()
    assert process.case_manager == nurse and process.stage is Stage.ASSESSMENT
    assert "v4 note" not in process.model_dump_json()
    record = await pathway.record()
    assert record.referral.reason == "Version-4 referral reason"
    assert [goal.text for goal in record.goals] == ["Version-4 goal"]
    assert [item.note for item in record.follow_ups] == ["v4 note 0", "v4 note 1", "v4 note 2"]
    assert row().process_version is ProcessVersion.CURRENT  # type: ignore[union-attr]

    # It goes on as any current pathway: the next event follows the version-4 ones.
    answer = await pathway.do(
        nurse,
        a.RecordFollowUp(channel=ContactChannel.REMOTE, note="first current note", contacted_at=datetime.now(UTC)),
    )
    assert answer.last_event_sequence == process.last_event_sequence + 1
    record = await pathway.record()
    assert record.follow_up_count == 4 and record.follow_ups[-1].note == "first current note"
    history = await client.get_workflow_handle(pathway_id).fetch_history()
    assert history.events[0].workflow_execution_started_event_attributes.workflow_type.name == WORKFLOW_NAME

    # Both runs replay on today's code: the version-4 one that moved, and the current one after it.
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=data_converter(), workflow_runner=strict_workflow_runner()
    )
    types = []
    async for execution in client.list_workflows(f"WorkflowId = '{pathway_id}'"):
        run = await client.get_workflow_handle(pathway_id, run_id=execution.run_id).fetch_history()
        types.append(run.events[0].workflow_execution_started_event_attributes.workflow_type.name)
        await replayer.replay_workflow(run)
    assert sorted(types) == sorted([LEGACY_WORKFLOW_NAME, WORKFLOW_NAME])


async def test_a_closed_version_4_pathway_is_imported_from_its_final_state(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    reference = client_reference()
    pathway_id = v4.pathway_id_for(reference)
    handle = await client.start_workflow(
        PathwayWorkflowV4.run,
        v4.PathwayStartInput(
            intake=v4.IntakeInput(
                client_reference=reference,
                team=org.team,
                referral_source=v4.ReferralSource.SELF_REFERRAL,
                reason="Closed before version 5",
                registered_by=org.coordinator.staff_id,
            )
        ),
        id=pathway_id,
        task_queue=task_queue,
    )
    await handle.execute_update(
        PathwayWorkflowV4.triage,
        v4.TriageInput(actor=org.coordinator.staff_id, route=v4.TriageRoute.NO_NEED, redirect_note="Elsewhere"),
    )
    await handle.result()
    with Session(sqlite_engine) as session:
        row = session.get(PathwayRow, pathway_id)
        assert row is not None and row.record is None and row.closed_at is not None

    report = await move_version_4_records(client, sqlite_engine, worker.sealer)
    assert report.imported >= 1 and report.failed == 0
    pathway = DrivenPathway(client=client, engine=sqlite_engine, sealer=worker.sealer, pathway_id=pathway_id)
    row = pathway.row()
    assert row is not None and row.process_version is ProcessVersion.CURRENT
    record = store.open_record(worker.sealer, row)
    assert record is not None and record.referral.reason == "Closed before version 5"
    assert record.closure is not None and record.closure.note == "Elsewhere"
    # Imported once: a second sweep finds nothing to import.
    assert pathway_id not in [pid async for pid in running_v4_pathways(client)]
    again = await move_version_4_records(client, sqlite_engine, worker.sealer)
    assert again.failed == 0
