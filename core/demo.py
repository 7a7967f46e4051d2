"""Demo data for `make run` and `python -m core.cli demo`: a demo team, its staff and a few pathways.

The pathways are driven through the same workflow updates staff use, so the Temporal Web UI, the API
and the read model show real histories. They are marked as demo data (`IntakeInput.demo`, the
`DemoData` search attribute), use pseudonymous references `demo-0001`... and a short policy, so
deadlines fire within minutes while someone is looking. Seeding is idempotent: `python -m core.cli demo`
does nothing once the demo team exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle

from api.admin import add_staff, add_team
from core.pathways import start_pathway
from models.pathway import (
    AddInvestigationInput,
    AssessmentLevel,
    CompleteAssessmentInput,
    ContactChannel,
    IntakeInput,
    Language,
    LongTermSolution,
    PathwayPolicy,
    PathwayState,
    PathwayView,
    PlannedServiceInput,
    RecordFollowUpInput,
    RecordOutcomeInput,
    ReferralSource,
    ReferringOrganisation,
    RequestTeamReviewInput,
    ServiceKind,
    ServiceStatusChange,
    SetGoalInput,
    SetPlanInput,
    TriageInput,
    TriageRoute,
    UpdateServiceInput,
)
from models.tables import StaffRole, Team
from workflows.pathway import PathwayWorkflow

DEMO_TEAM = "demo-team"
DEMO_TEAM_NAME = "Demo work-ability team"
# The seed waits on the worker for every update; without one it would wait for ever.
SEED_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class DemoStaffMember:
    staff_id: str
    display_name: str
    role: StaffRole
    profession: str


ADMIN = DemoStaffMember("demo.admin", "Demo administrator", StaffRole.ADMIN, "administrator")
COORDINATOR = DemoStaffMember("demo.coordinator", "Demo coordinator", StaffRole.COORDINATOR, "team coordinator")
NURSE = DemoStaffMember("demo.nurse", "Demo public health nurse", StaffRole.PROFESSIONAL, "public health nurse")
SOCIAL_WORKER = DemoStaffMember("demo.social-worker", "Demo social worker", StaffRole.PROFESSIONAL, "social worker")
DEMO_STAFF = (ADMIN, COORDINATOR, NURSE, SOCIAL_WORKER)


def demo_policy() -> PathwayPolicy:
    """Minutes instead of weeks, so reminders, overdue escalations and sustainment checks show up in a demo."""
    return PathwayPolicy(
        triage_due_after=timedelta(minutes=10),
        assessment_due_after=timedelta(minutes=30),
        follow_up_interval=timedelta(minutes=5),
        follow_up_reminder_before=timedelta(minutes=1),
        follow_up_grace=timedelta(minutes=2),
        service_gap_allowed=timedelta(minutes=5),
        service_gap_escalate_after=timedelta(minutes=5),
        sustainment_period=timedelta(minutes=15),
        sustainment_confirm_grace=timedelta(minutes=5),
    )


def demo_team_exists(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.get(Team, DEMO_TEAM) is not None


def add_demo_staff(engine: Engine) -> dict[str, str]:
    """The demo team and its staff; returns staff id -> bearer token (shown once, kept only hashed)."""
    add_team(engine, team_id=DEMO_TEAM, name=DEMO_TEAM_NAME)
    return {
        member.staff_id: add_staff(
            engine,
            staff_id=member.staff_id,
            display_name=member.display_name,
            role=member.role,
            teams=[] if member.role is StaffRole.ADMIN else [DEMO_TEAM],
            language=Language.EN,
            email=None,
        )
        for member in DEMO_STAFF
    }


Handle = WorkflowHandle[PathwayWorkflow, PathwayState]
Update = Callable[[Handle], Awaitable[Any]]


def _intake(
    reference: str, source: ReferralSource, organisation: ReferringOrganisation | None, reason: str
) -> IntakeInput:
    return IntakeInput(
        client_reference=reference,
        team=DEMO_TEAM,
        referral_source=source,
        referring_organisation=organisation,
        client_language=Language.FI,
        reason=reason,
        registered_by=NURSE.staff_id,
        demo=True,
    )


def _triage(route: TriageRoute, case_manager: DemoStaffMember, level: AssessmentLevel | None = None) -> Update:
    action = TriageInput(
        actor=COORDINATOR.staff_id, route=route, assessment_level=level, case_manager=case_manager.staff_id
    )
    return lambda handle: handle.execute_update(PathwayWorkflow.triage, action)


def _goal(actor: DemoStaffMember, text: str) -> Update:
    action = SetGoalInput(actor=actor.staff_id, text=text)
    return lambda handle: handle.execute_update(PathwayWorkflow.set_goal, action)


def _complete_assessment(actor: DemoStaffMember) -> Update:
    action = CompleteAssessmentInput(
        actor=actor.staff_id,
        summary="Demo: work ability partly reduced; able to work or study with support.",
        recommendation="Demo: vocational rehabilitation alongside rehabilitative work activity.",
    )
    return lambda handle: handle.execute_update(PathwayWorkflow.complete_assessment, action)


def _plan(actor: DemoStaffMember, *services: tuple[ServiceKind, str, bool]) -> Update:
    now = datetime.now(UTC)
    action = SetPlanInput(
        actor=actor.staff_id,
        services=[
            PlannedServiceInput(kind=kind, provider=provider, planned_start=now, remote=remote)
            for kind, provider, remote in services
        ],
        note="Demo follow-up plan.",
    )
    return lambda handle: handle.execute_update(PathwayWorkflow.set_plan, action)


def _service(actor: DemoStaffMember, index: int, change: ServiceStatusChange) -> Update:
    async def update(handle: Handle) -> PathwayView:
        state = await handle.query(PathwayWorkflow.get_state)
        action = UpdateServiceInput(actor=actor.staff_id, service_id=state.services[index].service_id, change=change)
        return await handle.execute_update(PathwayWorkflow.update_service, action)

    return update


def _plan_steps(case_manager: DemoStaffMember) -> list[Update]:
    return [
        _plan(
            case_manager,
            (ServiceKind.VOCATIONAL_REHABILITATION, "Demo Kela vocational rehabilitation provider", False),
            (ServiceKind.REHABILITATIVE_WORK_ACTIVITY, "Demo municipal work activity centre", True),
        ),
        _service(case_manager, 0, ServiceStatusChange.STARTED),
    ]


def demo_pathways() -> list[tuple[IntakeInput, list[Update]]]:
    """Five pathways, each left in a different stage; professionals act as their case managers."""
    awaiting_triage = _intake(
        "demo-0001", ReferralSource.SELF_REFERRAL, None, "Demo: self-referral after a long period of unemployment."
    )
    assessment = _intake(
        "demo-0002",
        ReferralSource.PROFESSIONAL_REFERRAL,
        ReferringOrganisation.EMPLOYMENT_SERVICES,
        "Demo: employment services ask for a work-ability assessment.",
    )
    in_services = _intake(
        "demo-0003",
        ReferralSource.PROFESSIONAL_REFERRAL,
        ReferringOrganisation.KELA,
        "Demo: Kela refers the client for work-ability support.",
    )
    sustainment = _intake(
        "demo-0004",
        ReferralSource.PROFESSIONAL_REFERRAL,
        ReferringOrganisation.MULTI_SECTOR_JOINT_SERVICE,
        "Demo: the multi-sector joint service refers the client.",
    )
    team_review = _intake(
        "demo-0005",
        ReferralSource.PROFESSIONAL_REFERRAL,
        ReferringOrganisation.HEALTH_STATION,
        "Demo: the health station refers the client after sick leave.",
    )
    return [
        (awaiting_triage, []),
        (
            assessment,
            [
                _triage(TriageRoute.EXTENDED_ASSESSMENT, SOCIAL_WORKER, AssessmentLevel.BASIC),
                _goal(SOCIAL_WORKER, "Demo goal: find out what kind of work I can still do."),
                lambda handle: handle.execute_update(
                    PathwayWorkflow.add_investigation,
                    AddInvestigationInput(
                        actor=SOCIAL_WORKER.staff_id,
                        description="Demo: occupational physiotherapist's functional capacity evaluation",
                    ),
                ),
            ],
        ),
        (
            in_services,
            [
                _triage(TriageRoute.HEALTH_CHECK, NURSE),
                _goal(NURSE, "Demo goal: return to working life part-time within a year."),
                _complete_assessment(NURSE),
                *_plan_steps(NURSE),
                lambda handle: handle.execute_update(
                    PathwayWorkflow.record_follow_up,
                    RecordFollowUpInput(
                        actor=NURSE.staff_id, channel=ContactChannel.PHONE, note="Demo: the first week went well."
                    ),
                ),
            ],
        ),
        (
            sustainment,
            [
                _triage(TriageRoute.EXTENDED_ASSESSMENT, SOCIAL_WORKER, AssessmentLevel.SPECIALIST),
                _goal(SOCIAL_WORKER, "Demo goal: start vocational studies."),
                _complete_assessment(SOCIAL_WORKER),
                *_plan_steps(SOCIAL_WORKER),
                _service(SOCIAL_WORKER, 0, ServiceStatusChange.COMPLETED),
                lambda handle: handle.execute_update(
                    PathwayWorkflow.record_outcome,
                    RecordOutcomeInput(
                        actor=SOCIAL_WORKER.staff_id,
                        solution=LongTermSolution.STUDIES,
                        description="Demo: accepted to a vocational college.",
                    ),
                ),
            ],
        ),
        (
            team_review,
            [
                _triage(TriageRoute.HEALTH_CHECK, NURSE),
                lambda handle: handle.execute_update(
                    PathwayWorkflow.request_team_review,
                    RequestTeamReviewInput(
                        actor=NURSE.staff_id,
                        reason="Demo: the situation changed; the team should consider a specialist assessment.",
                    ),
                ),
            ],
        ),
    ]


async def seed_demo_pathways(client: Client, task_queue: str) -> list[str]:
    """Start the demo pathways and move each to its stage; needs a worker on `task_queue`."""
    pathway_ids = []
    async with asyncio.timeout(SEED_TIMEOUT_SECONDS):
        for intake, steps in demo_pathways():
            handle = await start_pathway(client, task_queue, intake, demo_policy())
            for step in steps:
                await step(handle)
            pathway_ids.append(handle.id)
    return pathway_ids


def format_tokens(tokens: dict[str, str]) -> str:
    """The readable block `make run` and `demo` print once: who is who, and their bearer tokens."""
    width = max(len(member.staff_id) for member in DEMO_STAFF)
    lines = [f"Demo team {DEMO_TEAM} added. Bearer tokens (shown only now; send as 'Authorization: Bearer <token>'):"]
    for member in DEMO_STAFF:
        token = tokens[member.staff_id]
        lines.append(f"  {member.staff_id:<{width}}  {member.role.value:<12}  {token}  ({member.profession})")
    return "\n".join(lines)
