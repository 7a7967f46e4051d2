"""6. Pathway-years: pathways followed for 1, 5 and 20 years, two follow-ups a week at the longest note.

Driven for real through Temporal with the dev server's per-workflow time skipping (each pathway has its
own virtual clock): the product's pathway through its actions, the reference's `RawPathway` of the same
weekly shape (a weekly reminder timer with its local activity, two updates a week with the same note,
continue-as-new when Temporal suggests it). Read back from the histories: bytes per pathway-year, the
largest run, the largest carried input and update answer, the replay time of the largest run, and the
dev server's payload and history warnings.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer

from bench.figures import Sizes
from bench.figures.actions import Target
from bench.harness import Figure, at_most, informative
from bench.reference import RAW_WORKFLOW, RawPathway, RawStart
from bench.stack import COORDINATOR, TEAM, Deployment, professional_id
from core.temporal import data_converter, workflow_runner
from models import actions as a
from models.actions import Intake
from models.pathway import (
    NOTE_MAX_LENGTH,
    ContactChannel,
    ServiceKind,
    ServiceStatusChange,
    TriageRoute,
    pathway_id_for,
)
from models.process import PathwayStart
from workflows.actions import BY_FIELDS
from workflows.client import act, pathway_handle, start_pathway
from workflows.pathway import PathwayWorkflow

KIB = 1024
# The longest note a follow-up takes, in words a nurse might write (not one repeated letter: encryption
# does not care, but a compressing store would).
LONG_NOTE = (("Follow-up by phone: the work trial continues, the client reports less pain and better sleep. ") * 60)[
    :NOTE_MAX_LENGTH
]
WEEK = timedelta(days=7)


@dataclass
class Run:
    run_id: str
    history: WorkflowHistory
    bytes: int
    events: int
    carried_input: int  # bytes of the run's input (the carried process after continue-as-new)
    largest_answer: int


@dataclass
class Followed:
    workflow_id: str
    years: int
    runs: list[Run]
    replay_seconds: float

    @property
    def largest(self) -> Run:
        return max(self.runs, key=lambda run: run.bytes)


def _payload_bytes(payloads: Any) -> int:
    return sum(payload.ByteSize() for payload in payloads.payloads)


async def _runs(client: Client, workflow_id: str) -> list[Run]:
    executions = [execution async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    runs = []
    for execution in sorted(executions, key=lambda execution: execution.start_time):
        history = await client.get_workflow_handle(workflow_id, run_id=execution.run_id).fetch_history()
        carried = 0
        largest_answer = 0
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                carried = _payload_bytes(event.workflow_execution_started_event_attributes.input)
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                outcome = event.workflow_execution_update_completed_event_attributes.outcome
                largest_answer = max(largest_answer, _payload_bytes(outcome.success))
        runs.append(
            Run(
                run_id=execution.run_id,
                history=history,
                bytes=sum(event.ByteSize() for event in history.events),
                events=len(history.events),
                carried_input=carried,
                largest_answer=largest_answer,
            )
        )
    return runs


async def _replay_seconds(deployment: Deployment, workflows: list[type], history: WorkflowHistory) -> float:
    """One replay of the run, as a worker rebuilds an evicted pathway (same converter and runner)."""
    replayer = Replayer(
        workflows=workflows, data_converter=data_converter(deployment.settings), workflow_runner=workflow_runner()
    )
    began = time.perf_counter()
    await replayer.replay_workflow(history)
    return time.perf_counter() - began


async def _follow_ours(deployment: Deployment, years: int) -> Followed:
    skipper = deployment.stack.skipper
    assert skipper is not None
    client = skipper.client
    nurse = professional_id(0)
    reference = f"years{years}-{uuid.uuid4().hex[:8]}"
    pathway_id = pathway_id_for(reference)
    await start_pathway(
        client,
        deployment.pathway_queue,
        pathway_id=pathway_id,
        intake=Intake(
            client_reference=reference,
            team=TEAM,
            referral_source="self_referral",
            reason="Benchmark pathway followed for years",
            referred_at=datetime.now(UTC),
        ),
        registered_by=COORDINATOR,
    )
    handle = pathway_handle(client, pathway_id)

    async def do(actor: str, fields: Any) -> int:
        answer = await act(handle, BY_FIELDS[type(fields)], actor=actor, fields=fields)
        return len(answer.model_dump_json())

    await do(COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    await do(nurse, a.CompleteAssessment(summary="Able to work part-time", recommendation="Work trial"))
    now = await skipper.get_current_time(handle)
    await do(
        nurse,
        a.SetPlan(
            services=[
                a.PlannedServiceInput(
                    kind=ServiceKind.EMPLOYMENT_SERVICES, provider="Employment services", planned_start=now
                )
            ],
            follow_up_interval=WEEK,
        ),
    )
    process = await handle.query(PathwayWorkflow.get_process)
    await do(nurse, a.UpdateService(service_id=process.services[0].service_id, change=ServiceStatusChange.STARTED))
    follow_up = a.RecordFollowUp(channel=ContactChannel.PHONE, note=LONG_NOTE)
    for _ in range(52 * years * 2):
        await skipper.fast_forward(handle, WEEK / 2)
        await do(nurse, follow_up)
    runs = await _runs(client, pathway_id)
    largest = max(runs, key=lambda run: run.bytes)
    return Followed(pathway_id, years, runs, await _replay_seconds(deployment, [PathwayWorkflow], largest.history))


async def _follow_raw(deployment: Deployment, years: int) -> Followed:
    skipper = deployment.stack.skipper
    assert skipper is not None
    client = skipper.client
    workflow_id = f"raw-years{years}-{uuid.uuid4().hex[:8]}"
    began = datetime.now(UTC)
    handle: WorkflowHandle[Any, Any] = await client.start_workflow(
        RAW_WORKFLOW,
        RawStart(
            pathway=PathwayStart(
                intake=Intake(
                    client_reference=workflow_id.removeprefix("raw-"),
                    team=TEAM,
                    referral_source="self_referral",
                    reason="Benchmark pathway followed for years",
                    referred_at=began,
                ),
                registered_by=COORDINATOR,
            ),
            first_reminder_at=began + WEEK,
            reminder_every=WEEK,
            team=TEAM,
            recipient=professional_id(0),
        ),
        id=workflow_id,
        task_queue=deployment.raw_queue,
    )
    follow_up = a.RecordFollowUp(channel=ContactChannel.PHONE, note=LONG_NOTE)
    for _ in range(52 * years * 2):
        await skipper.fast_forward(handle, WEEK / 2)
        await handle.execute_update(RawPathway.follow_up, follow_up)
    runs = await _runs(client, workflow_id)
    largest = max(runs, key=lambda run: run.bytes)
    return Followed(workflow_id, years, runs, await _replay_seconds(deployment, [RawPathway], largest.history))


def _describe_runs(followed: Followed) -> str:
    return ", ".join(f"{run.events} events/{run.bytes // KIB} KiB" for run in followed.runs)


async def pathway_years(deployment: Deployment, sizes: Sizes) -> tuple[list[Figure], list[Target], list[Target]]:
    warnings_before = len(deployment.stack.server_warnings())
    ours, raw = await asyncio.gather(
        asyncio.gather(*(_follow_ours(deployment, years) for years in sizes.years)),
        asyncio.gather(*(_follow_raw(deployment, years) for years in sizes.years)),
    )
    warnings = deployment.stack.server_warnings()[warnings_before:]
    figures: list[Figure] = []
    for followed, reference in zip(ours, raw, strict=True):
        years = followed.years
        label = f"{years} year{'s' if years > 1 else ''}"
        total, reference_total = sum(run.bytes for run in followed.runs), sum(run.bytes for run in reference.runs)
        per_year = Figure(
            6,
            f"History per pathway-year, {label}",
            "KiB/year",
            "(informative)",
            informative,
            [total / years / KIB],
            [reference_total / years / KIB],
            limited_by="the notes themselves: each travels in the update and once more in the record activity's input",
        )
        largest = Figure(
            6,
            f"Largest run, {label}",
            "KiB",
            "<= 4 MB",
            at_most(4 * KIB),
            [followed.largest.bytes / KIB],
            [reference.largest.bytes / KIB],
            limited_by="the workflow: continue-as-new after 2 MB or 2,000 events (PathwayPolicy)",
        )
        carried = Figure(
            6,
            f"Largest carried state, {label}",
            "KiB",
            "<= 32 KiB",
            at_most(32.0),
            [max(run.carried_input for run in followed.runs) / KIB],
            [max(run.carried_input for run in reference.runs) / KIB],
            limited_by="the bounded process: open items, 64 action keys, fired deadlines; recorded events leave it",
        )
        answer = Figure(
            6,
            f"Largest update answer, {label}",
            "KiB",
            "<= 4 KiB",
            at_most(4.0),
            [max(run.largest_answer for run in followed.runs) / KIB],
            [max(run.largest_answer for run in reference.runs) / KIB],
            limited_by="the compact ActionAnswer (status, next deadline, created ids)",
        )
        replay = Figure(
            6,
            f"Replay of the largest run, {label}",
            "ms",
            "flat with age",
            informative,
            [followed.replay_seconds * 1000],
            [reference.replay_seconds * 1000],
            limited_by="the run's events (bounded by continue-as-new), not the pathway's age",
        )
        per_year.notes.append(
            f"{label}: {len(followed.runs)} run(s) of {_describe_runs(followed)}; reference {len(reference.runs)} "
            f"run(s) of {_describe_runs(reference)}."
        )
        figures += [per_year, largest, carried, answer, replay]
    if figures:
        figures[0].notes.append(
            f"Dev server warnings about payload or history size during the drive: {len(warnings)}"
            + (f" (first: {warnings[0][:300]})" if warnings else "")
            + "."
        )
        figures.append(
            Figure(
                6,
                "Dev server payload and history warnings",
                "lines",
                "0",
                at_most(0),
                [float(len(warnings))],
                limited_by="payload and history sizes on both sides stay under the 512 KB and 10 MB warnings",
            )
        )
    nurse = professional_id(0)
    return (
        figures,
        [Target(followed.workflow_id, nurse) for followed in ours],
        [Target(followed.workflow_id.removeprefix("raw-"), nurse) for followed in raw],
    )
