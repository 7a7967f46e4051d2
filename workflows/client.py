"""The workflows' client half: starting a pathway, acting on it, reading its process, and the schedules.

The API, the demo, the operations commands and the tests go through here, so the id policies, the
search attributes a pathway starts with and the shape of an action's arguments are the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.common import QueryRejectCondition, WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from models.actions import Intake, StaffActor
from models.pathway import PathwayPolicy
from models.process import ActionAnswer, PathwayClosing, PathwayStart, ProcessState, ProcessStatus
from workflows import deadlines, rules, search_attributes
from workflows.actions import StaffAction
from workflows.pathway import PathwayWorkflow
from workflows.upkeep import OutboxSweepWorkflow, RecordRetentionWorkflow

F = TypeVar("F", bound=BaseModel)

RETENTION_SCHEDULE_ID = "pathways-record-retention"
OUTBOX_SCHEDULE_ID = "pathways-outbox-sweep"


async def start_pathway(
    client: Client,
    task_queue: str,
    *,
    pathway_id: str,
    intake: Intake,
    registered_by: str,
    policy: PathwayPolicy | None = None,
) -> WorkflowHandle[PathwayWorkflow, PathwayClosing]:
    """Start a pathway. Raises WorkflowAlreadyStartedError if the id is taken (a pathway id is never reused)."""
    policy = policy or PathwayPolicy()
    referred_at = intake.referred_at
    assert referred_at is not None, "the caller fixes referred_at, so the start's search attributes are exact"
    status = status_at_start(pathway_id, intake, policy)
    return await client.start_workflow(
        PathwayWorkflow.run,
        PathwayStart(intake=intake, registered_by=registered_by, policy=policy),
        id=pathway_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # Every search attribute at start: the pathway lists in the Web UI before its first workflow task,
        # and that task has nothing to upsert.
        search_attributes=search_attributes.at_start(status, team=intake.team, demo=intake.demo),
        static_summary=f"Work-ability pathway, team {intake.team}",
    )


def status_at_start(pathway_id: str, intake: Intake, policy: PathwayPolicy) -> ProcessStatus:
    """A new pathway's status before its first task (awaiting triage, the triage deadline next): what its
    start's search attributes show."""
    assert intake.referred_at is not None
    return deadlines.status_of(
        rules.initial_state(intake, pathway_id=pathway_id, policy=policy, referred_at=intake.referred_at)
    )


def pathway_handle(client: Client, pathway_id: str) -> WorkflowHandle[PathwayWorkflow, PathwayClosing]:
    """The latest run of a pathway (continue-as-new keeps the id)."""
    return client.get_workflow_handle_for(PathwayWorkflow.run, pathway_id)


async def act(
    handle: WorkflowHandle[Any, Any], action: StaffAction[F], *, actor: str, fields: F, update_id: str | None = None
) -> ActionAnswer:
    """Run one staff action as the pathway's update of that name; the same `update_id` applies once. The
    workflow files the action's decisions itself, by an activity after the update's task."""
    answer: ActionAnswer = await handle.execute_update(
        action.name, args=[StaffActor(actor=actor), fields], id=update_id, result_type=ActionAnswer
    )
    return answer


async def get_process(handle: WorkflowHandle[Any, Any], *, open_only: bool = False) -> ProcessState:
    """The pathway's process. With `open_only` a workflow that is no longer open is not replayed to answer:
    Temporal rejects the query (`WorkflowQueryRejectedError` names the status it ended with)."""
    condition = QueryRejectCondition.NOT_OPEN if open_only else None
    return await handle.query(PathwayWorkflow.get_process, reject_condition=condition)


# -- schedules -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpkeepIntervals:
    record_retention: timedelta
    outbox_sweep: timedelta


async def ensure_schedules(client: Client, task_queue: str, intervals: UpkeepIntervals) -> None:
    """Create the upkeep schedules, or bring an existing one's interval up to date (several workers may race:
    whoever comes second finds the schedule there)."""
    wanted: dict[str, tuple[Any, timedelta, str]] = {
        RETENTION_SCHEDULE_ID: (
            RecordRetentionWorkflow.run,
            intervals.record_retention,
            "Erase records past retention",
        ),
        OUTBOX_SCHEDULE_ID: (OutboxSweepWorkflow.run, intervals.outbox_sweep, "Deliver pending notifications"),
    }
    for schedule_id, (run, every, note) in wanted.items():
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(run, id=f"{schedule_id}-run", task_queue=task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        )
        try:
            await client.create_schedule(schedule_id, schedule, memo={"purpose": note})
        except ScheduleAlreadyRunningError:

            def replaced(previous: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(schedule_id).update(replaced)
