"""Starting and addressing pathways: the client-side half of the workflow contract.

The API and the tests start pathways only through here, so the id scheme, the "one open pathway per
client" rule and the initial search attributes are the same everywhere.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from models.pathway import IntakeInput, PathwayPolicy, PathwayStartInput, PathwayState, Stage, pathway_id_for
from workflows.pathway import PathwayWorkflow
from workflows.search_attributes import DEMO_DATA, PATHWAY_STAGE, PATHWAY_TEAM, TEAM_REVIEW_PENDING


async def start_pathway(
    client: Client, task_queue: str, intake: IntakeInput, policy: PathwayPolicy | None = None
) -> WorkflowHandle[PathwayWorkflow, PathwayState]:
    """Start a client's pathway. Raises WorkflowAlreadyStartedError if the client has an open one."""
    return await client.start_workflow(
        PathwayWorkflow.run,
        PathwayStartInput(intake=intake, policy=policy or PathwayPolicy()),
        id=pathway_id_for(intake.client_reference),
        task_queue=task_queue,
        # One open pathway per client; a closed one may be followed by a new pathway.
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        # Visible in the UI before the first workflow task runs.
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(PATHWAY_STAGE, Stage.AWAITING_TRIAGE.value),
                SearchAttributePair(PATHWAY_TEAM, intake.team),
                SearchAttributePair(TEAM_REVIEW_PENDING, False),
                SearchAttributePair(DEMO_DATA, intake.demo),
            ]
        ),
        static_summary=f"Work-ability pathway, team {intake.team}",
    )


def pathway_handle(client: Client, pathway_id: str) -> WorkflowHandle[PathwayWorkflow, PathwayState]:
    """The latest run of a pathway (continue-as-new keeps the id)."""
    return client.get_workflow_handle_for(PathwayWorkflow.run, pathway_id)
