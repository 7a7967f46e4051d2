"""Record full-scenario histories into tests/histories/ for the replay test.

Run after a deliberate workflow change (`python -m tests.workflows.record_histories`) and commit the
new files NEXT TO the old ones: the old histories stand for pathways already running in production.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.temporal import data_converter, temporal_cli_path
from models.pathway import (
    AddInvestigationInput,
    AssessmentLevel,
    AssignCaseManagerInput,
    CompleteAssessmentInput,
    CompleteInvestigationInput,
    ConfirmSustainmentInput,
    ContactChannel,
    DecideTeamReviewInput,
    LongTermSolution,
    PathwayPolicy,
    PlannedServiceInput,
    RecordFeedbackInput,
    RecordFollowUpInput,
    RecordOutcomeInput,
    ReferralSource,
    RequestTeamReviewInput,
    ServiceKind,
    ServiceStatusChange,
    SetGoalInput,
    SetPlanInput,
    TeamReviewDecision,
    TriageInput,
    TriageRoute,
    UpdateServiceInput,
)
from workflows.pathway import PathwayWorkflow
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

from .helpers import COORDINATOR, NURSE, PHYSICIAN, SOCIAL_WORKER, eventually, intake, running_worker, start

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


async def health_check_to_employment(client: Client, task_queue: str) -> WorkflowHandle[PathwayWorkflow, object]:
    policy = PathwayPolicy(sustainment_period=timedelta(seconds=2), service_gap_allowed=timedelta(seconds=1))
    handle = await start(client, task_queue, intake(), policy)
    await handle.execute_update(
        PathwayWorkflow.triage, TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE)
    )
    await handle.execute_update(PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text="Work in retail"))
    await handle.execute_update(
        PathwayWorkflow.complete_assessment,
        CompleteAssessmentInput(actor=NURSE, summary="Fair", recommendation="Try-out"),
    )
    now = datetime.now(UTC)
    state = await handle.execute_update(
        PathwayWorkflow.set_plan,
        SetPlanInput(
            actor=NURSE,
            services=[
                PlannedServiceInput(kind=ServiceKind.EMPLOYMENT_SERVICES, provider="TE", planned_start=now),
                PlannedServiceInput(kind=ServiceKind.SOCIAL_WORK, provider="Social", planned_start=now),
            ],
        ),
    )
    first, second = (service.service_id for service in state.services)
    for service_id, change in (
        (first, ServiceStatusChange.STARTED),
        (first, ServiceStatusChange.COMPLETED),
    ):
        await handle.execute_update(
            PathwayWorkflow.update_service, UpdateServiceInput(actor=NURSE, service_id=service_id, change=change)
        )
    # Let the service-gap notice fire so the history has a timer and a notification activity.
    await asyncio.sleep(1.5)
    await handle.execute_update(
        PathwayWorkflow.update_service,
        UpdateServiceInput(actor=NURSE, service_id=second, change=ServiceStatusChange.STARTED),
    )
    await handle.execute_update(
        PathwayWorkflow.record_follow_up, RecordFollowUpInput(actor=NURSE, channel=ContactChannel.REMOTE, note="ok")
    )
    await handle.execute_update(
        PathwayWorkflow.record_outcome,
        RecordOutcomeInput(actor=NURSE, solution=LongTermSolution.EMPLOYMENT, description="Job"),
    )
    await asyncio.sleep(2.5)
    await handle.execute_update(PathwayWorkflow.record_feedback, RecordFeedbackInput(actor=NURSE, rating=4))
    await handle.execute_update(
        PathwayWorkflow.confirm_sustainment, ConfirmSustainmentInput(actor=NURSE, held=True, note="Held")
    )
    await handle.result()
    return handle


async def specialist_assessment_with_team_review(
    client: Client, task_queue: str
) -> WorkflowHandle[PathwayWorkflow, object]:
    policy = PathwayPolicy(
        follow_up_interval=timedelta(seconds=2),
        follow_up_reminder_before=timedelta(seconds=1),
        follow_up_grace=timedelta(seconds=1),
        continue_as_new_after_events=60,
    )
    handle = await start(client, task_queue, intake(source=ReferralSource.PROFESSIONAL_REFERRAL), policy)
    await handle.execute_update(
        PathwayWorkflow.triage,
        TriageInput(
            actor=COORDINATOR,
            route=TriageRoute.EXTENDED_ASSESSMENT,
            assessment_level=AssessmentLevel.SPECIALIST,
            case_manager=SOCIAL_WORKER,
        ),
    )
    state = await handle.execute_update(
        PathwayWorkflow.add_investigation, AddInvestigationInput(actor=SOCIAL_WORKER, description="Neuropsych")
    )
    await handle.execute_update(
        PathwayWorkflow.assign_case_manager,
        AssignCaseManagerInput(actor=COORDINATOR, case_manager=PHYSICIAN, reason="Health needs"),
    )
    await handle.execute_update(
        PathwayWorkflow.complete_investigation,
        CompleteInvestigationInput(
            actor=PHYSICIAN, investigation_id=state.investigations[0].investigation_id, result_summary="Limits"
        ),
    )
    await handle.execute_update(
        PathwayWorkflow.complete_assessment,
        CompleteAssessmentInput(actor=PHYSICIAN, summary="Reduced", recommendation="Rehab"),
    )
    now = datetime.now(UTC)
    await handle.execute_update(
        PathwayWorkflow.set_plan,
        SetPlanInput(
            actor=PHYSICIAN,
            services=[
                PlannedServiceInput(kind=ServiceKind.VOCATIONAL_REHABILITATION, provider="Kela", planned_start=now)
            ],
        ),
    )

    async def escalated() -> bool:
        return bool((await handle.query(PathwayWorkflow.get_state)).team_review_pending)

    await eventually(escalated, what="follow-up overdue escalation")
    await handle.execute_update(
        PathwayWorkflow.decide_team_review,
        DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.REVISE_PLAN, note="Pension"),
    )
    await handle.execute_update(
        PathwayWorkflow.set_plan,
        SetPlanInput(
            actor=PHYSICIAN,
            services=[PlannedServiceInput(kind=ServiceKind.SOCIAL_WORK, provider="Social", planned_start=now)],
            follow_up_interval=timedelta(days=30),
        ),
    )
    await handle.execute_update(
        PathwayWorkflow.request_team_review, RequestTeamReviewInput(actor=PHYSICIAN, reason="Pension decision")
    )
    await handle.execute_update(
        PathwayWorkflow.decide_team_review,
        DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.CONTINUE, note="Go on"),
    )
    # Enough follow-ups to continue as new at least once.
    for _ in range(12):
        await handle.execute_update(
            PathwayWorkflow.record_follow_up,
            RecordFollowUpInput(actor=PHYSICIAN, channel=ContactChannel.PHONE, note="Call"),
        )
    await handle.execute_update(
        PathwayWorkflow.record_outcome,
        RecordOutcomeInput(actor=PHYSICIAN, solution=LongTermSolution.DISABILITY_PENSION, description="Granted"),
    )
    await handle.execute_update(
        PathwayWorkflow.confirm_sustainment, ConfirmSustainmentInput(actor=PHYSICIAN, held=False, note="Rejected")
    )
    return handle


async def no_need(client: Client, task_queue: str) -> WorkflowHandle[PathwayWorkflow, object]:
    handle = await start(client, task_queue)
    await handle.execute_update(
        PathwayWorkflow.triage,
        TriageInput(actor=COORDINATOR, route=TriageRoute.NO_NEED, redirect_note="Student health care"),
    )
    await handle.result()
    return handle


SCENARIOS = {
    "health_check_to_employment": health_check_to_employment,
    "specialist_assessment_with_team_review": specialist_assessment_with_team_review,
    "no_need": no_need,
}


async def save_all_runs(client: Client, handle: WorkflowHandle[PathwayWorkflow, object], name: str, tag: str) -> int:
    """Save every run of the pathway (continue-as-new makes several)."""
    saved = 0
    async for execution in client.list_workflows(f'WorkflowId = "{handle.id}"'):
        history = await client.get_workflow_handle(handle.id, run_id=execution.run_id).fetch_history()
        started = history.events[0].event_time.ToDatetime().strftime("%Y%m%dT%H%M%S%f")
        path = HISTORIES / f"{tag}-{name}-{started}.json"
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
        saved += 1
    return saved


async def main(tag: str) -> None:
    HISTORIES.mkdir(exist_ok=True)
    async with (
        await WorkflowEnvironment.start_local(
            data_converter=data_converter(),
            search_attributes=ALL_SEARCH_ATTRIBUTES,
            dev_server_existing_path=str(temporal_cli_path()),
        ) as env,
        running_worker(env.client, "record-histories"),
    ):
        for name, scenario in SCENARIOS.items():
            handle = await scenario(env.client, "record-histories")
            await asyncio.sleep(1)  # the visibility store catches up
            count = await save_all_runs(env.client, handle, name, tag)
            print(f"{name}: {count} run(s) saved")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "v1"))
