"""A pathway carrying distinctive free text everywhere staff can write it, to look for it afterwards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowHandle

from models.pathway import (
    AssignCaseManagerInput,
    CompleteAssessmentInput,
    ContactChannel,
    PathwayState,
    PlannedServiceInput,
    RecordFeedbackInput,
    RecordFollowUpInput,
    ServiceKind,
    SetGoalInput,
    SetPlanInput,
    TriageInput,
    TriageRoute,
)
from tests.workflows.helpers import COORDINATOR, NURSE, SOCIAL_WORKER, intake, start
from workflows.pathway import PathwayWorkflow

from .conftest import client_reference


def distinctive_marker(word: str) -> str:
    """A string that appears nowhere unless this test run wrote it."""
    return f"{word}-{uuid.uuid4().hex}"


@dataclass
class NotedPathway:
    handle: WorkflowHandle[PathwayWorkflow, PathwayState]
    client_reference: str
    marker: str
    state: PathwayState


async def run_pathway_with_notes(client: Client, task_queue: str, marker: str) -> NotedPathway:
    """Referral reason, triage note, handover reason, goal, plan note, follow-up note and feedback all carry
    the marker. A worker must be polling `task_queue`."""
    reference = client_reference()
    referral = intake(reference).model_copy(update={"reason": f"Referral reason {marker}"})
    handle = await start(client, task_queue, referral)
    await handle.execute_update(
        PathwayWorkflow.triage,
        TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE, note=f"Triage {marker}"),
    )
    await handle.execute_update(
        PathwayWorkflow.assign_case_manager,
        AssignCaseManagerInput(actor=COORDINATOR, case_manager=SOCIAL_WORKER, reason=f"Handover {marker}"),
    )
    await handle.execute_update(
        PathwayWorkflow.set_goal, SetGoalInput(actor=SOCIAL_WORKER, text=f"Client's own goal {marker}")
    )
    await handle.execute_update(
        PathwayWorkflow.complete_assessment,
        CompleteAssessmentInput(actor=SOCIAL_WORKER, summary=f"Summary {marker}", recommendation=f"Rec {marker}"),
    )
    now = datetime.now(UTC)
    await handle.execute_update(
        PathwayWorkflow.set_plan,
        SetPlanInput(
            actor=SOCIAL_WORKER,
            services=[
                PlannedServiceInput(
                    kind=ServiceKind.MENTAL_HEALTH_SERVICES,
                    provider=f"Provider {marker}",
                    planned_start=now,
                    planned_end=now + timedelta(days=60),
                )
            ],
            note=f"Plan {marker}",
        ),
    )
    await handle.execute_update(
        PathwayWorkflow.record_follow_up,
        RecordFollowUpInput(actor=SOCIAL_WORKER, channel=ContactChannel.PHONE, note=f"Follow-up {marker}"),
    )
    await handle.execute_update(
        PathwayWorkflow.record_feedback, RecordFeedbackInput(actor=SOCIAL_WORKER, rating=4, comment=f"Said {marker}")
    )
    state = await handle.query(PathwayWorkflow.get_state)
    return NotedPathway(handle=handle, client_reference=reference, marker=marker, state=state)
