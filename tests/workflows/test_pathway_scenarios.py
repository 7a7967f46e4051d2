"""Whole pathways, start to end, on a real Temporal dev server with a real worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from models.pathway import (
    AddInvestigationInput,
    AssessmentLevel,
    AssignCaseManagerInput,
    CloseInput,
    ClosureReason,
    CompleteAssessmentInput,
    CompleteInvestigationInput,
    ConfirmSustainmentInput,
    ContactChannel,
    DecideTeamReviewInput,
    EventKind,
    LongTermSolution,
    NotificationKind,
    PathwayPolicy,
    PlannedServiceInput,
    RecordFeedbackInput,
    RecordFollowUpInput,
    RecordOutcomeInput,
    ReferralSource,
    RequestTeamReviewInput,
    ServiceKind,
    ServiceStatus,
    ServiceStatusChange,
    SetGoalInput,
    SetPlanInput,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TriageInput,
    TriageRoute,
    UpdateServiceInput,
)
from workflows.pathway import PathwayWorkflow
from workflows.search_attributes import CASE_MANAGER, PATHWAY_STAGE, TEAM_REVIEW_PENDING, TRIAGE_ROUTE

from .helpers import (
    COORDINATOR,
    FAST_POLICY,
    NURSE,
    PHYSICIAN,
    SOCIAL_WORKER,
    eventually,
    intake,
    running_worker,
    start,
)


def _service(kind: ServiceKind, provider: str, days: int = 0) -> PlannedServiceInput:
    start_at = datetime.now(UTC) + timedelta(days=days)
    return PlannedServiceInput(
        kind=kind, provider=provider, planned_start=start_at, planned_end=start_at + timedelta(days=90)
    )


async def test_self_referral_health_check_to_employment_that_holds_closes_the_pathway(
    client: Client, task_queue: str
) -> None:
    policy = PathwayPolicy(sustainment_period=timedelta(seconds=2))
    async with running_worker(client, task_queue) as store:
        handle = await start(client, task_queue, intake(), policy)

        state = await handle.execute_update(
            PathwayWorkflow.triage,
            TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
        )
        assert state.stage is Stage.ASSESSMENT
        assert state.case_manager == NURSE
        assert state.assessment is not None and state.assessment.route is TriageRoute.HEALTH_CHECK

        state = await handle.execute_update(
            PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text="Haluan päästä töihin kaupan alalle")
        )
        assert [goal.text for goal in state.goals] == ["Haluan päästä töihin kaupan alalle"]

        state = await handle.execute_update(
            PathwayWorkflow.complete_assessment,
            CompleteAssessmentInput(actor=NURSE, summary="Work ability fair", recommendation="Work try-out"),
        )
        assert state.stage is Stage.PLANNING

        state = await handle.execute_update(
            PathwayWorkflow.set_plan,
            SetPlanInput(
                actor=NURSE,
                services=[
                    _service(ServiceKind.EMPLOYMENT_SERVICES, "TE-palvelut"),
                    _service(ServiceKind.REHABILITATIVE_WORK_ACTIVITY, "Eura work centre"),
                ],
                follow_up_interval=timedelta(days=14),
            ),
        )
        assert state.stage is Stage.IN_SERVICES
        assert len(state.services) == 2
        assert state.next_follow_up_due is not None

        for service in state.services:
            state = await handle.execute_update(
                PathwayWorkflow.update_service,
                UpdateServiceInput(actor=NURSE, service_id=service.service_id, change=ServiceStatusChange.STARTED),
            )
        assert {service.status for service in state.services} == {ServiceStatus.ACTIVE}

        state = await handle.execute_update(
            PathwayWorkflow.record_follow_up,
            RecordFollowUpInput(actor=NURSE, channel=ContactChannel.PHONE, note="Going well"),
        )
        assert len(state.follow_ups) == 1

        state = await handle.execute_update(
            PathwayWorkflow.record_outcome,
            RecordOutcomeInput(actor=NURSE, solution=LongTermSolution.EMPLOYMENT, description="Permanent job"),
        )
        assert state.stage is Stage.SUSTAINMENT
        assert state.outcome is not None

        # The sustainment check reaches the case manager when the period ends.
        await eventually(
            lambda: any(n.kind is NotificationKind.SUSTAINMENT_CHECK_DUE for n in store.notifications_for(handle.id)),
            what="sustainment check notification",
        )
        await handle.execute_update(PathwayWorkflow.record_feedback, RecordFeedbackInput(actor=NURSE, rating=5))
        state = await handle.execute_update(
            PathwayWorkflow.confirm_sustainment,
            ConfirmSustainmentInput(actor=NURSE, held=True, note="Still employed"),
        )
        assert state.stage is Stage.CLOSED
        assert state.closure is not None and state.closure.reason is ClosureReason.COMPLETED

        final = await handle.result()
        assert final.stage is Stage.CLOSED
        assert final.feedback[0].rating == 5
        assert final.case_manager_history[-1].renounced_at is not None

        kinds = [n.kind for n in store.notifications_for(handle.id)]
        assert kinds.count(NotificationKind.NEW_REFERRAL) == 1
        assert kinds.count(NotificationKind.ASSIGNED_CASE_MANAGER) == 1
        # The read model got every event exactly once, in order.
        recorded = sorted(seq for (pid, seq) in store.events if pid == handle.id)
        assert recorded == [event.sequence for event in final.events]
        assert [event.kind for event in final.events][:3] == [
            EventKind.REFERRAL_RECEIVED,
            EventKind.TRIAGED,
            EventKind.CASE_MANAGER_ASSIGNED,
        ]


async def test_professional_referral_specialist_assessment_handover_overdue_follow_up_to_disability_pension(
    client: Client, task_queue: str
) -> None:
    policy = PathwayPolicy(
        follow_up_interval=timedelta(seconds=2),
        follow_up_reminder_before=timedelta(seconds=1),
        follow_up_grace=timedelta(seconds=1),
    )
    async with running_worker(client, task_queue) as store:
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
            PathwayWorkflow.add_investigation,
            AddInvestigationInput(actor=SOCIAL_WORKER, description="Neuropsychological examination"),
        )
        investigation_id = state.investigations[0].investigation_id

        # The client's need now relates most to health: the physician takes over, safely.
        state = await handle.execute_update(
            PathwayWorkflow.assign_case_manager,
            AssignCaseManagerInput(actor=COORDINATOR, case_manager=PHYSICIAN, reason="Health needs dominate"),
        )
        assert state.case_manager == PHYSICIAN
        assert [p.staff_id for p in state.case_manager_history] == [SOCIAL_WORKER, PHYSICIAN]
        assert state.case_manager_history[0].renounced_at == state.case_manager_history[1].assumed_at

        await handle.execute_update(
            PathwayWorkflow.complete_investigation,
            CompleteInvestigationInput(
                actor=PHYSICIAN, investigation_id=investigation_id, result_summary="Significant limitations"
            ),
        )
        await handle.execute_update(
            PathwayWorkflow.complete_assessment,
            CompleteAssessmentInput(actor=PHYSICIAN, summary="Reduced capacity", recommendation="Rehabilitation"),
        )
        await handle.execute_update(
            PathwayWorkflow.set_plan,
            SetPlanInput(actor=PHYSICIAN, services=[_service(ServiceKind.VOCATIONAL_REHABILITATION, "Kela")]),
        )

        # Nobody records a follow-up: a reminder, then an overdue escalation to the team.
        await eventually(lambda: _has(store, handle.id, NotificationKind.ESCALATED_TO_TEAM_REVIEW), what="escalation")
        state = await handle.query(PathwayWorkflow.get_state)
        kinds = [n.kind for n in store.notifications_for(handle.id)]
        assert NotificationKind.FOLLOW_UP_DUE_SOON in kinds
        assert NotificationKind.FOLLOW_UP_OVERDUE in kinds
        assert state.team_review_pending
        assert state.pending_team_reviews()[0].cause is TeamReviewCause.FOLLOW_UP_OVERDUE
        # The handover told both case managers.
        assert {(n.kind, n.recipient) for n in store.notifications_for(handle.id)} >= {
            (NotificationKind.HANDOVER_FROM, SOCIAL_WORKER),
            (NotificationKind.HANDOVER_TO, PHYSICIAN),
        }
        assert [item.cause for item in store.team_reviews.values() if item.pathway_id == handle.id] == [
            TeamReviewCause.FOLLOW_UP_OVERDUE
        ]

        state = await handle.execute_update(
            PathwayWorkflow.decide_team_review,
            DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.REVISE_PLAN, note="Pension route"),
        )
        assert state.stage is Stage.PLANNING
        assert not state.team_review_pending
        state = await handle.execute_update(
            PathwayWorkflow.set_plan,
            SetPlanInput(
                actor=PHYSICIAN,
                services=[_service(ServiceKind.SOCIAL_WORK, "Eura social services")],
                follow_up_interval=timedelta(days=30),
            ),
        )
        assert state.plan is not None and state.plan.version == 2
        # The planned Kela service left out of the revision is cancelled, not lost.
        assert [s.status for s in state.services] == [ServiceStatus.CANCELLED, ServiceStatus.PLANNED]

        state = await handle.execute_update(
            PathwayWorkflow.record_outcome,
            RecordOutcomeInput(
                actor=PHYSICIAN, solution=LongTermSolution.DISABILITY_PENSION, description="Pension granted"
            ),
        )
        assert state.stage is Stage.SUSTAINMENT
        assert state.outcome is not None and state.outcome.solution is LongTermSolution.DISABILITY_PENSION

        described = await handle.describe()
        attributes = described.typed_search_attributes
        assert attributes.get(PATHWAY_STAGE) == Stage.SUSTAINMENT.value
        assert attributes.get(CASE_MANAGER) == PHYSICIAN
        assert attributes.get(TRIAGE_ROUTE) == TriageRoute.EXTENDED_ASSESSMENT.value
        assert attributes.get(TEAM_REVIEW_PENDING) is False

        await handle.execute_update(
            PathwayWorkflow.close,
            CloseInput(actor=PHYSICIAN, reason=ClosureReason.COMPLETED, note="Pension holds"),
        )
        assert (await handle.result()).stage is Stage.CLOSED


async def test_no_need_closes_the_pathway_with_the_redirect_note(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await start(client, task_queue)
        state = await handle.execute_update(
            PathwayWorkflow.triage,
            TriageInput(actor=COORDINATOR, route=TriageRoute.NO_NEED, redirect_note="Referred to student health care"),
        )
        assert state.stage is Stage.CLOSED
        assert state.closure is not None
        assert state.closure.reason is ClosureReason.NO_NEED
        assert state.closure.note == "Referred to student health care"
        assert state.case_manager is None
        result = await handle.result()
        assert result.stage is Stage.CLOSED
        assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED


async def test_a_service_gap_notifies_the_case_manager_then_escalates(client: Client, task_queue: str) -> None:
    policy = PathwayPolicy(service_gap_allowed=timedelta(seconds=1), service_gap_escalate_after=timedelta(seconds=1))
    async with running_worker(client, task_queue) as store:
        handle = await _in_services(client, task_queue, policy)
        state = await handle.query(PathwayWorkflow.get_state)
        service_id = state.services[0].service_id
        await handle.execute_update(
            PathwayWorkflow.update_service,
            UpdateServiceInput(actor=NURSE, service_id=service_id, change=ServiceStatusChange.STARTED),
        )
        await handle.execute_update(
            PathwayWorkflow.update_service,
            UpdateServiceInput(actor=NURSE, service_id=service_id, change=ServiceStatusChange.INTERRUPTED),
        )
        await eventually(lambda: _has(store, handle.id, NotificationKind.SERVICE_GAP), what="service gap notice")
        await eventually(
            lambda: _has(store, handle.id, NotificationKind.ESCALATED_TO_TEAM_REVIEW), what="gap escalation"
        )
        state = await handle.query(PathwayWorkflow.get_state)
        assert [review.cause for review in state.pending_team_reviews()] == [TeamReviewCause.SERVICE_GAP]
        gap_notices = [n for n in store.notifications_for(handle.id) if n.kind is NotificationKind.SERVICE_GAP]
        assert [n.recipient for n in gap_notices] == [NURSE]


async def test_a_service_started_within_the_allowed_gap_prevents_the_gap_notice(
    client: Client, task_queue: str
) -> None:
    policy = PathwayPolicy(service_gap_allowed=timedelta(seconds=2))
    async with running_worker(client, task_queue) as store:
        handle = await _in_services(client, task_queue, policy, services=2)
        state = await handle.query(PathwayWorkflow.get_state)
        first, second = (service.service_id for service in state.services)
        for service_id, change in (
            (first, ServiceStatusChange.STARTED),
            (first, ServiceStatusChange.COMPLETED),
            (second, ServiceStatusChange.STARTED),
        ):
            await handle.execute_update(
                PathwayWorkflow.update_service,
                UpdateServiceInput(actor=NURSE, service_id=service_id, change=change),
            )
        await asyncio.sleep(3)
        assert not _has(store, handle.id, NotificationKind.SERVICE_GAP)


async def test_overdue_triage_escalates_to_the_team_and_triage_resolves_it(client: Client, task_queue: str) -> None:
    policy = PathwayPolicy(triage_due_after=timedelta(seconds=1))
    async with running_worker(client, task_queue) as store:
        handle = await start(client, task_queue, intake(), policy)
        await eventually(lambda: _has(store, handle.id, NotificationKind.ESCALATED_TO_TEAM_REVIEW), what="escalation")
        state = await handle.query(PathwayWorkflow.get_state)
        assert [review.cause for review in state.pending_team_reviews()] == [TeamReviewCause.TRIAGE_OVERDUE]
        view = await handle.execute_update(
            PathwayWorkflow.triage,
            TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
        )
        assert not view.team_review_pending
        assert view.team_reviews[0].decision is TeamReviewDecision.CONTINUE


async def test_solution_that_did_not_hold_returns_to_team_review(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue) as store:
        handle = await _in_services(client, task_queue, PathwayPolicy())
        await handle.execute_update(
            PathwayWorkflow.record_outcome,
            RecordOutcomeInput(actor=NURSE, solution=LongTermSolution.STUDIES, description="Vocational school"),
        )
        state = await handle.execute_update(
            PathwayWorkflow.confirm_sustainment,
            ConfirmSustainmentInput(actor=NURSE, held=False, note="Dropped out after two months"),
        )
        assert state.stage is Stage.IN_SERVICES
        assert state.outcome is None
        assert [o.solution for o in state.past_outcomes] == [LongTermSolution.STUDIES]
        assert [r.cause for r in state.pending_team_reviews()] == [TeamReviewCause.SOLUTION_DID_NOT_HOLD]
        await eventually(lambda: _has(store, handle.id, NotificationKind.ESCALATED_TO_TEAM_REVIEW), what="escalation")


async def test_long_follow_up_timers_escalate_after_a_month_with_time_skipping(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    """Default (production) durations: 30-day follow-up, 3-day reminder, 7-day grace."""
    client = env.client
    async with running_worker(client, task_queue) as store:
        handle = await _in_services(client, task_queue, PathwayPolicy())
        assert not _has(store, handle.id, NotificationKind.FOLLOW_UP_DUE_SOON)
        await env.fast_forward(handle, timedelta(days=28))
        await eventually(lambda: _has(store, handle.id, NotificationKind.FOLLOW_UP_DUE_SOON), what="reminder")
        assert not _has(store, handle.id, NotificationKind.ESCALATED_TO_TEAM_REVIEW)
        await env.fast_forward(handle, timedelta(days=10))
        await eventually(lambda: _has(store, handle.id, NotificationKind.ESCALATED_TO_TEAM_REVIEW), what="escalation")
        state = await handle.query(PathwayWorkflow.get_state)
        assert [r.cause for r in state.pending_team_reviews()] == [TeamReviewCause.FOLLOW_UP_OVERDUE]


def _has(store: object, pathway_id: str, kind: NotificationKind) -> bool:
    return any(n.kind is kind for n in store.notifications_for(pathway_id))  # type: ignore[attr-defined]


async def _in_services(client: Client, task_queue: str, policy: PathwayPolicy, services: int = 1):
    handle = await start(client, task_queue, intake(), policy)
    await handle.execute_update(
        PathwayWorkflow.triage,
        TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
    )
    await handle.execute_update(
        PathwayWorkflow.complete_assessment,
        CompleteAssessmentInput(actor=NURSE, summary="Done", recommendation="Services"),
    )
    await handle.execute_update(
        PathwayWorkflow.set_plan,
        SetPlanInput(
            actor=NURSE,
            services=[_service(ServiceKind.EMPLOYMENT_SERVICES, f"Provider {i}") for i in range(services)],
        ),
    )
    return handle


__all__ = ["FAST_POLICY"]


async def test_closing_a_pathway_settles_its_pending_team_reviews(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await _in_services(client, task_queue, PathwayPolicy())
        await handle.execute_update(
            PathwayWorkflow.request_team_review, RequestTeamReviewInput(actor=NURSE, reason="Client moving")
        )
        state = await handle.execute_update(
            PathwayWorkflow.close, CloseInput(actor=COORDINATOR, reason=ClosureReason.MOVED_AWAY, note="Moved")
        )
        assert not state.team_review_pending
        assert [(r.decision, r.decided_by) for r in state.team_reviews] == [(TeamReviewDecision.CLOSE, COORDINATOR)]
        assert (await handle.result()).stage is Stage.CLOSED
