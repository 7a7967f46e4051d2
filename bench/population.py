"""Putting many pathways in place quickly: the continue-as-new path instead of ten thousand intakes.

A pathway started with `PathwayStartInput(carried_state=...)` begins exactly where a continued run
would: in services, with a case manager, a plan and its next follow-up due. The initial search
attributes are the ones the workflow itself would publish, so listings see it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from bench.harness import wait_until
from bench.raw import RawNoopWorkflow, RawTimerWorkflow, TimerInput
from bench.stack import PATHWAY_TASK_QUEUE, RAW_TASK_QUEUE, professional_id
from models.pathway import (
    Assessment,
    CaseManagerPeriod,
    DeadlineKind,
    FollowUpPlan,
    IntakeInput,
    Language,
    PathwayPolicy,
    PathwayStartInput,
    PathwayState,
    PlannedService,
    ReferralSource,
    ServiceKind,
    ServiceStatus,
    Stage,
    TriageRoute,
    pathway_id_for,
)
from workflows import search_attributes as sa
from workflows.pathway import PathwayWorkflow

T = TypeVar("T")
STARTS_AT_ONCE = 20
START_BATCH = 100
BACKLOG_WAIT_SECONDS = 120.0


async def workflow_backlog(client: Client, task_queue: str) -> int:
    """Workflow tasks waiting on the task queue (the server's approximate count)."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            report_stats=True,
        )
    )
    return int(response.stats.approximate_backlog_count)


async def paced(client: Client, task_queue: str, count: int, job: Callable[[int], Awaitable[None]]) -> None:
    """Start `count` workflows in batches, each once the worker has caught up with the previous one.

    Starting faster than the worker takes tasks puts them in the dev server's persisted backlog, which it
    drains far more slowly (a few tasks a second) than it hands tasks straight to a waiting poller.
    """

    async def caught_up() -> bool:
        return await workflow_backlog(client, task_queue) <= START_BATCH // 2

    def offset(first: int) -> Callable[[int], Awaitable[None]]:
        return lambda index: job(first + index)

    for first in range(0, count, START_BATCH):
        await bounded(min(START_BATCH, count - first), STARTS_AT_ONCE, offset(first))
        with contextlib.suppress(TimeoutError):
            await wait_until(caught_up, timeout=BACKLOG_WAIT_SECONDS, interval=0.2)


async def bounded(count: int, concurrency: int, job: Callable[[int], Awaitable[T]]) -> list[T]:
    """Run `job(0..count-1)` with at most `concurrency` in flight."""
    limit = asyncio.Semaphore(concurrency)

    async def one(index: int) -> T:
        async with limit:
            return await job(index)

    return await asyncio.gather(*(one(index) for index in range(count)))


def in_services_state(
    client_reference: str, team: str, case_manager: str, next_follow_up_due: datetime, policy: PathwayPolicy
) -> PathwayState:
    """A pathway in services since a month ago, with one active service and a follow-up plan."""
    now = datetime.now(UTC)
    began = now - timedelta(days=30)
    intake = IntakeInput(
        client_reference=client_reference,
        team=team,
        referral_source=ReferralSource.SELF_REFERRAL,
        client_language=Language.FI,
        reason="Benchmark pathway",
        registered_by=case_manager,
        referred_at=began,
    )
    return PathwayState(
        pathway_id=pathway_id_for(client_reference),
        intake=intake,
        policy=policy,
        stage=Stage.IN_SERVICES,
        referred_at=began,
        case_manager=case_manager,
        case_manager_history=[CaseManagerPeriod(staff_id=case_manager, assumed_at=began, reason="named in triage")],
        assessment=Assessment(route=TriageRoute.HEALTH_CHECK, started_at=began, completed_at=began),
        plan=FollowUpPlan(version=1, set_at=began, follow_up_interval=policy.follow_up_interval),
        services=[
            PlannedService(
                service_id=f"{client_reference}-service",
                kind=ServiceKind.EMPLOYMENT_SERVICES,
                provider="Employment services",
                planned_start=began,
                status=ServiceStatus.ACTIVE,
                started_at=began,
            )
        ],
        next_follow_up_due=next_follow_up_due,
    )


async def start_in_services(client: Client, state: PathwayState) -> None:
    policy = state.policy
    assert state.next_follow_up_due is not None and state.case_manager is not None
    reminder_at = state.next_follow_up_due - policy.follow_up_reminder_before
    await client.start_workflow(
        PathwayWorkflow.run,
        PathwayStartInput(intake=state.intake, policy=policy, carried_state=state),
        id=state.pathway_id,
        task_queue=PATHWAY_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.PATHWAY_STAGE, Stage.IN_SERVICES.value),
                SearchAttributePair(sa.PATHWAY_TEAM, state.intake.team),
                SearchAttributePair(sa.CASE_MANAGER, state.case_manager),
                SearchAttributePair(sa.TRIAGE_ROUTE, TriageRoute.HEALTH_CHECK.value),
                SearchAttributePair(sa.TEAM_REVIEW_PENDING, False),
                SearchAttributePair(sa.DEMO_DATA, False),
                SearchAttributePair(sa.NEXT_DEADLINE, reminder_at),
                SearchAttributePair(sa.NEXT_DEADLINE_KIND, DeadlineKind.FOLLOW_UP_REMINDER.value),
            ]
        ),
        static_summary=f"Work-ability pathway, team {state.intake.team}",
    )


async def start_caseload(
    client: Client,
    *,
    prefix: str,
    count: int,
    team: str,
    professionals: int,
    follow_up_due: Callable[[int], datetime],
) -> list[str]:
    """`count` pathways in services, case managers spread evenly over the professionals; their ids."""
    policy = PathwayPolicy()
    references = [f"{prefix}-{index:05d}" for index in range(count)]

    async def one(index: int) -> None:
        state = in_services_state(
            references[index], team, professional_id(index % professionals), follow_up_due(index), policy
        )
        await start_in_services(client, state)

    await paced(client, PATHWAY_TASK_QUEUE, count, one)
    return [pathway_id_for(reference) for reference in references]


async def start_raw_noops(client: Client, ids: Sequence[str]) -> None:
    async def one(index: int) -> None:
        await client.start_workflow(RawNoopWorkflow.run, id=ids[index], task_queue=RAW_TASK_QUEUE)

    await bounded(len(ids), STARTS_AT_ONCE, one)


async def start_raw_timers(client: Client, ids: Sequence[str], fire_at: datetime) -> None:
    async def one(index: int) -> None:
        await client.start_workflow(
            RawTimerWorkflow.run, TimerInput(fire_at=fire_at), id=ids[index], task_queue=RAW_TASK_QUEUE
        )

    await paced(client, RAW_TASK_QUEUE, len(ids), one)
