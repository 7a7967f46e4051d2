"""A pathway carrying distinctive free text everywhere staff can write it, to look for it afterwards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from temporalio.client import Client

from core.crypto import RecordSealer
from models import actions as a
from models.pathway import ContactChannel, ServiceKind, TriageRoute
from models.record import PathwayRecord
from tests.support.fixtures import Org
from tests.support.helpers import intake
from tests.support.pathways import DrivenPathway, start_driven


def distinctive_marker(word: str) -> str:
    """A string that appears nowhere unless this test run wrote it."""
    return f"{word}-{uuid.uuid4().hex}"


@dataclass
class NotedPathway:
    pathway: DrivenPathway
    client_reference: str
    marker: str
    record: PathwayRecord


async def run_pathway_with_notes(
    client: Client, task_queue: str, engine: Engine, sealer: RecordSealer, org: Org, marker: str
) -> NotedPathway:
    """Referral reason, triage note, handover reason, goal, assessment, plan note, follow-up note, team
    review reason and feedback all carry the marker. A worker must be polling `task_queue`."""
    referral = intake(org.team, reason=f"Referral reason {marker}")
    coordinator, nurse, social_worker = org.coordinator.staff_id, org.nurse.staff_id, org.social_worker.staff_id
    pathway = await start_driven(client, task_queue, engine, sealer, referral, registered_by=coordinator)
    await pathway.do(coordinator, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse, note=f"Triage {marker}"))
    await pathway.do(coordinator, a.AssignCaseManager(case_manager=social_worker, reason=f"Handover {marker}"))
    await pathway.do(
        social_worker,
        a.AcceptHandover(
            note=f"Handover note {marker}", client_informed=True, client_informed_via=ContactChannel.PHONE
        ),
    )
    await pathway.do(social_worker, a.SetGoal(text=f"Client's own goal {marker}"))
    await pathway.do(social_worker, a.CompleteAssessment(summary=f"Summary {marker}", recommendation=f"Rec {marker}"))
    now = datetime.now(UTC)
    await pathway.do(
        social_worker,
        a.SetPlan(
            services=[
                a.PlannedServiceInput(
                    kind=ServiceKind.MENTAL_HEALTH_SERVICES,
                    provider="Mental health unit",
                    planned_start=now,
                    planned_end=now + timedelta(days=60),
                )
            ],
            note=f"Plan {marker}",
        ),
    )
    await pathway.do(social_worker, a.RecordFollowUp(channel=ContactChannel.PHONE, note=f"Follow-up {marker}"))
    await pathway.do(social_worker, a.RequestTeamReview(reason=f"Review {marker}"))
    await pathway.do(social_worker, a.RecordFeedback(rating=4, comment=f"Said {marker}"))
    record = await pathway.record()
    return NotedPathway(pathway=pathway, client_reference=referral.client_reference, marker=marker, record=record)
