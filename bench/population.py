"""Putting thousands of pathways in place quickly, exactly as the product would have left them.

Each pathway is driven through the product's own rules (`workflows.rules`, with a clock of its own: triage,
assessment, a plan with one started service), its events filed in the database by the product's own
store (`records.store.file_events`, sealed), and its workflow started with the bounded process it would
carry after a continue-as-new: in services, parked on its next follow-up reminder. The reference gets as
many `RawPathway`s with the same payload, parked on a timer at the same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from bench.harness import bounded, wait_until
from bench.reference import RAW_WORKFLOW, RawStart
from bench.stack import COORDINATOR, Deployment
from core.crypto import RecordSealer
from models import actions as a
from models.events import PathwayEvent
from models.pathway import PathwayPolicy, ServiceKind, ServiceStatusChange, TriageRoute, pathway_id_for
from models.process import PathwayStart, ProcessState
from records import store
from workflows import deadlines, rules, search_attributes
from workflows.actions import BY_FIELDS
from workflows.pathway import PathwayWorkflow

STARTS_AT_ONCE = 20
START_BATCH = 100
FILED_PER_TRANSACTION = 100
BACKLOG_WAIT_SECONDS = 120.0


@dataclass
class Built:
    """A pathway driven through the rules: its process as the workflow carries it, and its events."""

    process: ProcessState
    events: list[PathwayEvent]


class RulesDriver:
    """Runs the product's transitions on one pathway with its own clock (as tests/interop/states.py)."""

    def __init__(self, client_reference: str, team: str, *, now: datetime, policy: PathwayPolicy) -> None:
        self.now = now
        self._ids = itertools.count(1)
        self.process, decision = rules.start(
            a.Intake(
                client_reference=client_reference,
                team=team,
                referral_source="self_referral",
                reason="Benchmark pathway: wants support to find work after a long sick leave",
                referred_at=now,
            ),
            pathway_id=pathway_id_for(client_reference),
            registered_by=COORDINATOR,
            policy=policy,
            now=now,
        )
        self.events: list[PathwayEvent] = list(decision.events)
        self.created: list[str] = []

    def act(self, actor: str, fields: BaseModel) -> RulesDriver:
        action = BY_FIELDS[type(fields)]
        action.validate(self.process, fields, self.now, actor)
        self.process, decision = rules.decide(
            self.process,
            action.apply,
            fields,
            now=self.now,
            new_id=lambda: f"item-{next(self._ids)}",
            cause=f"update:bench-{next(self._ids)}",
            actor=actor,
        )
        self.events += decision.events
        self.created += decision.created_ids
        return self

    def at(self, moment: datetime) -> RulesDriver:
        self.now = moment
        return self

    def built(self) -> Built:
        """The process as a continued run carries it once everything so far is in the database."""
        process = self.process.model_copy(deep=True)
        process.recorded_event_sequence = process.last_event_sequence
        process.unrecorded_events = []
        process.pending_notices = []  # the set-up's notices are not part of any figure
        process.recorded_status = deadlines.status_of(process)
        return Built(process=process, events=list(self.events))


def in_services(
    client_reference: str, team: str, case_manager: str, *, reminder_at: datetime, policy: PathwayPolicy
) -> Built:
    """In services with one started service, its follow-up reminder due at `reminder_at`."""
    due = reminder_at + policy.follow_up_reminder_before
    plan_set_at = due - policy.follow_up_interval
    driver = RulesDriver(client_reference, team, now=plan_set_at - timedelta(days=30), policy=policy)
    driver.act(COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=case_manager))
    driver.at(plan_set_at - timedelta(days=2)).act(
        case_manager, a.CompleteAssessment(summary="Able to work part-time", recommendation="Work trial")
    )
    driver.at(plan_set_at).act(
        case_manager,
        a.SetPlan(
            services=[
                a.PlannedServiceInput(
                    kind=ServiceKind.EMPLOYMENT_SERVICES, provider="Employment services", planned_start=plan_set_at
                )
            ]
        ),
    )
    driver.act(case_manager, a.UpdateService(service_id=driver.created[-1], change=ServiceStatusChange.STARTED))
    return driver.built()


def file_records(engine: Engine, sealer: RecordSealer, built: Sequence[Built]) -> None:
    """The pathways' records, filed by the product's store, in transactions of 100 pathways."""
    for first in range(0, len(built), FILED_PER_TRANSACTION):
        with Session(engine) as session:
            for pathway in built[first : first + FILED_PER_TRANSACTION]:
                store.file_events(
                    session,
                    sealer,
                    pathway_id=pathway.process.pathway_id,
                    team=pathway.process.team,
                    events=pathway.events,
                    status=pathway.process.recorded_status,
                )
            session.commit()


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


async def drained(client: Client, task_queue: str, timeout: float = 900) -> None:
    async def empty() -> bool:
        return await workflow_backlog(client, task_queue) == 0

    await wait_until(empty, timeout=timeout, interval=0.5)


async def paced(client: Client, task_queue: str, count: int, job: Callable[[int], Awaitable[None]]) -> None:
    """Start `count` workflows in batches, each once the worker has caught up with the previous one.

    Starting faster than the worker takes tasks puts them in the dev server's persisted backlog, which it
    drains far more slowly than it hands tasks straight to a waiting poller.
    """

    async def caught_up() -> bool:
        return await workflow_backlog(client, task_queue) <= START_BATCH // 2

    for first in range(0, count, START_BATCH):
        await bounded(min(START_BATCH, count - first), STARTS_AT_ONCE, lambda index, first=first: job(first + index))  # type: ignore[misc]
        with contextlib.suppress(TimeoutError):
            await wait_until(caught_up, timeout=BACKLOG_WAIT_SECONDS, interval=0.2)


def raw_id(pathway_id: str) -> str:
    return f"raw-{pathway_id}"


async def start_parked(client: Client, task_queue: str, built: Sequence[Built], *, raw: bool) -> None:
    """Start the pathways on their carried process (filed first: `file_records`), or their raw twins."""

    async def one(index: int) -> None:
        process = built[index].process
        status = process.recorded_status
        assert status is not None
        attributes = search_attributes.at_start(status, team=process.team, demo=False)
        carried = PathwayStart(carried=process)
        if raw:
            due = status.next_deadline
            await client.start_workflow(
                RAW_WORKFLOW,
                RawStart(
                    pathway=carried,
                    record_start=False,
                    first_reminder_at=due.due_at if due else None,
                    team=process.team,
                    recipient=process.case_manager or "",
                ),
                id=raw_id(process.pathway_id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes,
            )
            return
        await client.start_workflow(
            PathwayWorkflow.run,
            carried,
            id=process.pathway_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=attributes,
            static_summary=f"Work-ability pathway, team {process.team}",
        )

    await paced(client, task_queue, len(built), one)


async def populate(deployment: Deployment, built: Sequence[Built], *, raw: bool) -> None:
    """Ours filed and started on the deployment's product queue, or the raw twins on its reference queue."""
    if raw:
        await start_parked(deployment.stack.temporal(), deployment.raw_queue, built, raw=True)
        return
    await asyncio.to_thread(file_records, deployment.engine, deployment.sealer, built)
    await start_parked(deployment.stack.temporal(), deployment.pathway_queue, built, raw=False)
