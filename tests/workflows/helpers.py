"""Shared set-up for the workflow tests: a worker with an in-memory effect store, and a started pathway."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.pathway_activities import PathwayActivities
from activities.store import InMemoryEffectStore
from core.pathways import start_pathway
from core.temporal import workflow_runner
from models.pathway import (
    IntakeInput,
    PathwayPolicy,
    PathwayState,
    ReferralSource,
    ReferringOrganisation,
    looks_like_personal_identity_code,
)
from workflows.pathway import PathwayWorkflow

TEAM = "eura-team"
COORDINATOR = "coordinator.aalto"
NURSE = "nurse.virtanen"
SOCIAL_WORKER = "socialworker.nieminen"
PHYSICIAN = "physician.korhonen"

# Short enough that a test sees every timer fire within seconds.
FAST_POLICY = PathwayPolicy(
    triage_due_after=timedelta(hours=1),
    assessment_due_after=timedelta(hours=1),
    follow_up_interval=timedelta(hours=1),
    follow_up_reminder_before=timedelta(minutes=10),
    follow_up_grace=timedelta(minutes=10),
    service_gap_allowed=timedelta(hours=1),
    service_gap_escalate_after=timedelta(hours=1),
    sustainment_period=timedelta(hours=1),
    sustainment_confirm_grace=timedelta(hours=1),
)


def new_client_reference() -> str:
    # Random hex can look like an identity code (DDMMYY + sign + digits); the intake rightly refuses those.
    while True:
        reference = f"client-{uuid.uuid4().hex[:12]}"
        if not looks_like_personal_identity_code(reference):
            return reference


def intake(
    client_reference: str | None = None,
    source: ReferralSource = ReferralSource.SELF_REFERRAL,
    **overrides: Any,
) -> IntakeInput:
    return IntakeInput(
        client_reference=client_reference or new_client_reference(),
        team=TEAM,
        referral_source=source,
        referring_organisation=(
            ReferringOrganisation.EMPLOYMENT_SERVICES if source is ReferralSource.PROFESSIONAL_REFERRAL else None
        ),
        reason="Long unemployment, reduced work ability suspected",
        registered_by=COORDINATOR,
        **overrides,
    )


@asynccontextmanager
async def running_worker(
    client: Client, task_queue: str, store: InMemoryEffectStore | None = None
) -> AsyncIterator[InMemoryEffectStore]:
    store = store or InMemoryEffectStore(coordinators={TEAM: [COORDINATOR]})
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[PathwayWorkflow],
        workflow_runner=workflow_runner(),
        activities=PathwayActivities(store).all(),
    ):
        yield store


async def start(
    client: Client,
    task_queue: str,
    intake_input: IntakeInput | None = None,
    policy: PathwayPolicy = PathwayPolicy(),
) -> WorkflowHandle[PathwayWorkflow, PathwayState]:
    return await start_pathway(client, task_queue, intake_input or intake(), policy)


async def eventually(
    check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Poll an async or sync check until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)
