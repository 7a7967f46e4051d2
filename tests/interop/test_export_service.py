"""The export as the route runs it: a live pathway, the staff database, the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from interop.service import ExportForbidden, PathwayNotFound, export_pathway
from models.pathway import TriageInput, TriageRoute, looks_like_personal_identity_code
from models.tables import StaffRole
from tests.reports.staff import ADMIN, EURA_COORDINATOR, EURA_NURSE, PORI_COORDINATOR, audit_entries, staff_database
from tests.workflows.helpers import COORDINATOR, NURSE, intake, new_client_reference, running_worker, start
from workflows.pathway import PathwayWorkflow


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = staff_database(tmp_path / "pathways.db")
    yield engine
    engine.dispose()


def _client_reference() -> str:
    while looks_like_personal_identity_code(reference := new_client_reference()):
        pass
    return reference


async def test_team_staff_export_a_pathway_and_every_export_attempt_is_audited(
    client: Client, task_queue: str, engine: Engine
) -> None:
    async with running_worker(client, task_queue):
        # The workflow helpers' team is eura-team, the staff database's too.
        handle = await start(client, task_queue, intake(_client_reference()))
        await handle.execute_update(
            PathwayWorkflow.triage, TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE)
        )
        with Session(engine) as session:
            bundle = await export_pathway(
                client,
                session,
                staff_id=EURA_NURSE,
                role=StaffRole.PROFESSIONAL,
                pathway_id=handle.id,
                purpose="transfer to occupational health",
            )
            assert Bundle.model_validate(bundle).entry[0].resource.get_resource_type() == "EpisodeOfCare"  # type: ignore[index,union-attr]

            with pytest.raises(ExportForbidden, match="belongs to another team"):
                await export_pathway(
                    client,
                    session,
                    staff_id=PORI_COORDINATOR,
                    role=StaffRole.COORDINATOR,
                    pathway_id=handle.id,
                    purpose=None,
                )
            with pytest.raises(ExportForbidden, match="professionals and coordinators"):
                await export_pathway(
                    client, session, staff_id=ADMIN, role=StaffRole.ADMIN, pathway_id=handle.id, purpose=None
                )
            with pytest.raises(PathwayNotFound, match="no pathway pathway-client-nosuch"):
                await export_pathway(
                    client,
                    session,
                    staff_id=EURA_COORDINATOR,
                    role=StaffRole.COORDINATOR,
                    pathway_id="pathway-client-nosuch",
                    purpose=None,
                )
        await handle.terminate("test done")

    entries = [(e.staff_id, e.pathway_id, e.action, e.outcome, e.purpose) for e in audit_entries(engine)]
    assert entries == [
        (EURA_NURSE, handle.id, "pathway.export_fhir", "ok", "transfer to occupational health"),
        (PORI_COORDINATOR, handle.id, "pathway.export_fhir", "forbidden", None),
    ]
