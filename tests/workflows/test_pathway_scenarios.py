"""Whole pathways on a real Temporal dev server with the production worker and a SQLite record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from models import actions as a
from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    ContactChannel,
    LongTermSolution,
    NotificationKind,
    PathwayPolicy,
    ServiceKind,
    ServiceStatus,
    ServiceStatusChange,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TriageRoute,
)
from models.process import PathwayClosing
from tests.support.fixtures import Org
from tests.support.helpers import FAST_POLICY, eventually, intake, service
from tests.support.pathways import start_driven
from worker import Effects
from workflows.search_attributes import CASE_MANAGER, PATHWAY_STAGE, TEAM_REVIEW_PENDING, TRIAGE_ROUTE


async def test_self_referral_health_check_to_employment_that_holds_closes_with_the_whole_record(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    policy = PathwayPolicy(sustainment_period=timedelta(seconds=2))
    nurse, coordinator = org.nurse.staff_id, org.coordinator.staff_id
    pathway = await start_driven(
        client, task_queue, sqlite_engine, worker.sealer, intake(org.team), registered_by=coordinator, policy=policy
    )
    answer = await pathway.do(coordinator, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    assert answer.stage is Stage.ASSESSMENT and answer.case_manager == nurse
    assert answer.next_deadline is not None and answer.next_deadline.kind.value == "assessment_due"
    await pathway.do(nurse, a.SetGoal(text="Haluan päästä töihin kaupan alalle"))
    await pathway.do(nurse, a.CompleteAssessment(summary="Work ability fair", recommendation="Work try-out"))
    answer = await pathway.do(
        nurse,
        a.SetPlan(
            services=[
                service(ServiceKind.EMPLOYMENT_SERVICES, "TE-palvelut"),
                service(ServiceKind.SOCIAL_WORK, "Eura"),
            ],
            follow_up_interval=timedelta(days=14),
        ),
    )
    assert answer.stage is Stage.IN_SERVICES and len(answer.created_ids) == 2
    for service_id in answer.created_ids:
        await pathway.do(nurse, a.UpdateService(service_id=service_id, change=ServiceStatusChange.STARTED))
    await pathway.do(nurse, a.RecordFollowUp(channel=ContactChannel.PHONE, note="Going well"))
    await pathway.do(nurse, a.RecordOutcome(solution=LongTermSolution.EMPLOYMENT, description="Permanent job"))
    # The sustainment check reaches the case manager when the period ends.
    await eventually(
        lambda: any(n.kind == NotificationKind.SUSTAINMENT_CHECK_DUE for n in pathway.inbox(nurse)),
        what="sustainment check notification",
    )
    await pathway.do(nurse, a.RecordFeedback(rating=5, comment="Sain apua"))
    answer = await pathway.do(nurse, a.ConfirmSustainment(held=True, note="Still employed"))
    assert answer.stage is Stage.CLOSED

    closing = await pathway.handle.result()
    assert isinstance(closing, PathwayClosing) and closing.closure_reason is ClosureReason.COMPLETED
    record = await pathway.record(upto=closing.last_event_sequence)
    assert record.stage is Stage.CLOSED and record.closure is not None
    assert [goal.text for goal in record.goals] == ["Haluan päästä töihin kaupan alalle"]
    assert record.assessment is not None and record.assessment.summary == "Work ability fair"
    assert {service.status for service in record.services} == {ServiceStatus.ACTIVE}
    assert record.follow_ups[0].note == "Going well"
    assert record.outcome is not None and record.outcome.held is True
    assert record.feedback[0].comment == "Sain apua"
    assert record.case_manager_history[0].renounced_at == record.closure.closed_at
    row = pathway.row()
    assert row is not None and row.closed_at is not None and row.closure_reason == "completed"
    assert [n.kind for n in pathway.inbox(coordinator)][:1] == [NotificationKind.NEW_REFERRAL]


async def test_professional_referral_with_specialist_assessment_handover_and_overdue_follow_up(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    policy = PathwayPolicy(
        follow_up_interval=timedelta(seconds=2),
        follow_up_reminder_before=timedelta(seconds=1),
        follow_up_grace=timedelta(seconds=1),
    )
    coordinator, nurse, social_worker = org.coordinator.staff_id, org.nurse.staff_id, org.social_worker.staff_id
    pathway = await start_driven(
        client,
        task_queue,
        sqlite_engine,
        worker.sealer,
        intake(org.team, professional=True),
        registered_by=nurse,
        policy=policy,
    )
    await pathway.do(
        coordinator,
        a.Triage(
            route=TriageRoute.EXTENDED_ASSESSMENT,
            assessment_level=AssessmentLevel.SPECIALIST,
            case_manager=social_worker,
        ),
    )
    answer = await pathway.do(
        social_worker, a.AddInvestigation(description="Neuropsychological examination", provider="HUS")
    )
    investigation_id = answer.created_ids[0]
    await pathway.do(coordinator, a.AssignCaseManager(case_manager=nurse, reason="Health needs dominate"))
    # A warm hand-over: the social worker stays case manager until the nurse takes over, having told the client.
    assert (await pathway.process()).case_manager == social_worker
    await pathway.do(
        nurse,
        a.AcceptHandover(
            note="Met the client together", client_informed=True, client_informed_via=ContactChannel.PHONE
        ),
    )
    await pathway.do(nurse, a.CompleteInvestigation(investigation_id=investigation_id, result_summary="Memory limits"))
    await pathway.do(nurse, a.CompleteAssessment(summary="Reduced", recommendation="Rehabilitation"))
    await pathway.do(nurse, a.SetPlan(services=[service()]))

    # Nobody records a follow-up: the reminder, then the overdue escalation to the team.
    await eventually(lambda: pathway.row() is not None and pathway.row().team_review_pending, what="escalation")  # type: ignore[union-attr]
    description = await pathway.handle.describe()
    attributes = description.typed_search_attributes
    assert attributes.get(PATHWAY_STAGE) == "in_services" and attributes.get(CASE_MANAGER) == nurse
    assert attributes.get(TEAM_REVIEW_PENDING) is True and attributes.get(TRIAGE_ROUTE) == "extended_assessment"

    await pathway.do(
        coordinator, a.DecideTeamReview(decision=TeamReviewDecision.CONTINUE, note="Call the client this week")
    )
    record = await pathway.record()
    assert [period.staff_id for period in record.case_manager_history] == [social_worker, nurse]
    [investigation] = record.investigations
    assert investigation.ordered_by == social_worker and investigation.completed_by == nurse
    assert investigation.result_summary == "Memory limits"
    [review] = record.team_reviews
    assert review.cause is TeamReviewCause.FOLLOW_UP_OVERDUE and review.decision is TeamReviewDecision.CONTINUE
    assert record.reminders_sent == 1
    assert record.case_manager_history[1].handover_note == "Met the client together"
    kinds_to_nurse = {n.kind for n in pathway.inbox(nurse)}
    assert {
        NotificationKind.HANDOVER_PROPOSED,
        NotificationKind.FOLLOW_UP_DUE_SOON,
        NotificationKind.FOLLOW_UP_OVERDUE,
    } <= kinds_to_nurse
    assert {NotificationKind.HANDOVER_PENDING, NotificationKind.HANDOVER_ACCEPTED} <= {
        n.kind for n in pathway.inbox(social_worker)
    }


async def test_no_need_closes_the_pathway_and_its_workflow(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    pathway = await start_driven(
        client, task_queue, sqlite_engine, worker.sealer, intake(org.team), registered_by=org.coordinator.staff_id
    )
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.NO_NEED, redirect_note="Student health care"))
    closing = await pathway.handle.result()
    assert closing.closure_reason is ClosureReason.NO_NEED
    description = await pathway.handle.describe()
    assert description.status is WorkflowExecutionStatus.COMPLETED
    record = await pathway.record(upto=closing.last_event_sequence)
    assert record.closure is not None and record.closure.note == "Student health care"


async def test_long_follow_up_timers_escalate_after_a_month_with_time_skipping(
    env: WorkflowEnvironment, client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse = org.nurse.staff_id
    pathway = await start_driven(
        client, task_queue, sqlite_engine, worker.sealer, intake(org.team), registered_by=nurse, policy=PathwayPolicy()
    )
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    await pathway.do(nurse, a.CompleteAssessment(summary="s", recommendation="r"))
    answer = await pathway.do(nurse, a.SetPlan(services=[service()]))
    # The service starts as planned: only the follow-up's own deadlines are left to fire.
    await pathway.do(nurse, a.UpdateService(service_id=answer.created_ids[0], change=ServiceStatusChange.STARTED))
    started = datetime.now(UTC)
    # 30 days' follow-up interval and a week's grace pass in seconds for this workflow only.
    await env.fast_forward(pathway.handle, timedelta(days=38))
    await eventually(lambda: pathway.row().team_review_pending, what="overdue escalation", timeout=30)  # type: ignore[union-attr]
    assert datetime.now(UTC) - started < timedelta(minutes=1)
    record = await pathway.record()
    assert record.team_reviews[0].cause is TeamReviewCause.FOLLOW_UP_OVERDUE


async def test_a_fast_policy_pathway_on_the_team_of_its_staff_fires_no_deadline_too_early(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    pathway = await start_driven(
        client,
        task_queue,
        sqlite_engine,
        worker.sealer,
        intake(org.team),
        registered_by=org.nurse.staff_id,
        policy=FAST_POLICY,
    )
    process = await pathway.settled()
    assert process.stage is Stage.AWAITING_TRIAGE and not process.pending_reviews
    row = pathway.row()
    assert row is not None and row.next_deadline_kind == "triage_due"
