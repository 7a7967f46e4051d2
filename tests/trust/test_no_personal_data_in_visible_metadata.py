"""What Temporal shows unencrypted (ids, search attributes, memo, summaries) carries no personal data.

Run without encryption on purpose: these fields are never encrypted, so they must be clean by themselves.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.sdk.v1 import WorkflowMetadata

from core.settings import Settings
from models.pathway import Stage, TriageRoute, pathway_id_for
from tests.support.fixtures import make_org, migrated, running_worker
from tests.support.helpers import intake
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

from .conftest import FileServer
from .pathway_with_notes import distinctive_marker, run_pathway_with_notes

# Set by the server or SDK itself: worker build ids, workflow patches.
TEMPORAL_OWN_ATTRIBUTES = {"BuildIds", "TemporalChangeVersion"}


async def test_workflow_id_search_attributes_memo_and_summaries_carry_no_notes_goals_or_reasons(
    file_server: FileServer, tmp_path: Path
) -> None:
    client = await file_server.connect(None)
    marker = distinctive_marker("visible-metadata")
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    engine = migrated(url)
    org = make_org(engine)
    queue = f"tq-{uuid.uuid4()}"
    settings = Settings(task_queue=queue, database_url=url)
    async with running_worker(client, settings, engine) as effects:
        pathway = await run_pathway_with_notes(client, queue, engine, effects.sealer, org, marker)
        handle = pathway.pathway.handle
        description = await handle.describe()
        ui_metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        [listed] = [execution async for execution in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    history = await handle.fetch_history()

    # The id is the pseudonymous reference and nothing else.
    assert handle.id == f"pathway-{pathway.client_reference}"

    # Search attributes: our registered keys (and Temporal's own bookkeeping), with coded values.
    attributes = {pair.key.name: pair.value for pair in description.typed_search_attributes}
    assert set(attributes) <= {key.name for key in ALL_SEARCH_ATTRIBUTES} | TEMPORAL_OWN_ATTRIBUTES
    assert attributes["PathwayStage"] == Stage.IN_SERVICES.value
    assert attributes["PathwayTeam"] == org.team
    assert attributes["CaseManager"] == org.social_worker.staff_id
    assert attributes["TriageRoute"] == TriageRoute.HEALTH_CHECK.value
    assert {pair.key.name: pair.value for pair in listed.typed_search_attributes} == attributes

    visible = {
        "search attributes": description.raw_description.workflow_execution_info.search_attributes.SerializeToString(),
        "memo": description.raw_description.workflow_execution_info.memo.SerializeToString(),
        "whole description": description.raw_description.SerializeToString(),
        "static summary": str(await description.static_summary()).encode(),
        "static details": str(await description.static_details()).encode(),
        "current details": ui_metadata.current_details.encode(),
        "event summaries": b"".join(event.user_metadata.SerializeToString() for event in history.events),
    }
    assert marker not in str(await description.memo())
    assert "Stage:** in_services" in ui_metadata.current_details  # the UI still sees the status
    for what, shown in visible.items():
        assert marker.encode() not in shown, f"{what} shows free text"
        assert b"Referral reason" not in shown, f"{what} shows the referral reason"


@pytest.mark.parametrize("reference", ["131052-308T", "client-131052-308T", "010101A123N", "010594y9032"])
def test_a_personal_identity_code_never_becomes_a_workflow_id(reference: str) -> None:
    # Valid codes only (date and check character right); a same-shaped random string is a fine reference.
    with pytest.raises(ValueError, match="looks like a Finnish personal identity code"):
        pathway_id_for(reference)
    with pytest.raises(ValidationError, match="looks like a Finnish personal identity code"):
        intake("eura-team", reference)
