"""Demo data for `make run` and `python -m ops.cli demo`: a demo team, its staff and a few pathways.

The pathways are driven through the same workflow updates staff use, so the Temporal Web UI, the API
and the record show real histories. They are marked as demo data (`Intake.demo`, the
`DemoData` search attribute), use pseudonymous references `demo-0001`... and a short policy, so
deadlines fire within minutes while someone is looking. Seeding is idempotent: `python -m ops.cli demo`
does nothing once the demo team exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle

from models import actions as fields
from models.actions import Intake
from models.measures import WorkAbilityOccasion
from models.pathway import (
    AssessmentLevel,
    ContactChannel,
    Language,
    LongTermSolution,
    PartnerChannel,
    PartnerKind,
    PathwayPolicy,
    ReferralSource,
    ReferringOrganisation,
    ServiceKind,
    ServiceStatusChange,
    SummaryChannel,
    TriageRoute,
)
from models.process import ActionAnswer
from models.tables import Partner, Staff, StaffRole, Team
from ops.admin import add_staff, add_team
from workflows.actions import BY_FIELDS
from workflows.client import act, start_pathway

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
DATA_PROTECTION_OFFICER = DemoStaffMember(
    "demo.dpo", "Demo data protection officer", StaffRole.DPO, "data protection officer"
)
DEMO_STAFF = (ADMIN, COORDINATOR, NURSE, SOCIAL_WORKER, DATA_PROTECTION_OFFICER)


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


# A provider the demo's services can be referred to; its answers come through the signed link (the
# referral e-mail goes nowhere without SMTP: the link is in the outbox row).
DEMO_PARTNER_ID = "kela-demo"


def _demo_partner() -> Partner:
    return Partner(
        team_id=DEMO_TEAM,
        partner_id=DEMO_PARTNER_ID,
        name="Kela (demo)",
        kind=PartnerKind.KELA,
        channel=PartnerChannel.EMAIL,
        email="referrals@kela.example",
        language=Language.EN,
    )


def add_demo_staff(engine: Engine) -> dict[str, str]:
    """The demo team, its staff and its partner; returns staff id -> bearer token (shown once, kept hashed)."""
    add_team(engine, team_id=DEMO_TEAM, name=DEMO_TEAM_NAME)
    with Session(engine) as session:
        session.add(_demo_partner())
        team = session.get(Team, DEMO_TEAM)
        assert team is not None
        # The contacts the clients' plan summaries print (example numbers, not anyone's).
        team.contact_phone, team.contact_email = "+358 2 000 0000", "tyokykytiimi@example.fi"
        session.commit()
    tokens = {
        member.staff_id: add_staff(
            engine,
            staff_id=member.staff_id,
            display_name=member.display_name,
            role=member.role,
            teams=[] if member.role in (StaffRole.ADMIN, StaffRole.DPO) else [DEMO_TEAM],
            language=Language.EN,
            email=None,
        )
        for member in DEMO_STAFF
    }
    with Session(engine) as session:
        for index, member in enumerate(DEMO_STAFF):
            if member.role in (StaffRole.PROFESSIONAL, StaffRole.COORDINATOR):
                staff = session.get(Staff, member.staff_id)
                assert staff is not None
                staff.work_phone, staff.contact_hours = f"+358 40 000 000{index}", "Mon-Fri 9-11"
        session.commit()
    return tokens


@dataclass
class _Progress:
    """What a demo pathway's steps have given out so far (service ids of its plan)."""

    handle: WorkflowHandle[Any, Any]
    service_ids: list[str]
    gas_goal_id: str | None = None


Step = Callable[[_Progress], Awaitable[Any]]


def _do(actor: DemoStaffMember, action: BaseModel) -> Step:
    async def step(progress: _Progress) -> ActionAnswer:
        answer = await act(progress.handle, BY_FIELDS[type(action)], actor=actor.staff_id, fields=action)
        if isinstance(action, fields.SetPlan):
            progress.service_ids = list(answer.created_ids)
        if isinstance(action, fields.SetGoal) and action.gas_baseline is not None:
            progress.gas_goal_id = answer.created_ids[0]
        return answer

    return step


def _service(actor: DemoStaffMember, index: int, change: ServiceStatusChange) -> Step:
    async def step(progress: _Progress) -> ActionAnswer:
        action = fields.UpdateService(service_id=progress.service_ids[index], change=change)
        return await act(progress.handle, BY_FIELDS[fields.UpdateService], actor=actor.staff_id, fields=action)

    return step


def _intake(reference: str, source: ReferralSource, organisation: ReferringOrganisation | None, reason: str) -> Intake:
    return Intake(
        client_reference=reference,
        team=DEMO_TEAM,
        referral_source=source,
        referring_organisation=organisation,
        client_language=Language.FI,
        reason=reason,
        demo=True,
    )


def _triage(route: TriageRoute, case_manager: DemoStaffMember, level: AssessmentLevel | None = None) -> Step:
    return _do(COORDINATOR, fields.Triage(route=route, assessment_level=level, case_manager=case_manager.staff_id))


def _goal(actor: DemoStaffMember, text: str) -> Step:
    return _do(actor, fields.SetGoal(text=text))


def _work_ability(actor: DemoStaffMember, score: int | None, occasion: WorkAbilityOccasion) -> Step:
    """The client's own Work Ability Score, or None: the client did not want to answer."""
    return _do(actor, fields.RecordWorkAbility(score=score, declined=score is None, occasion=occasion))


def _gas_goal(actor: DemoStaffMember) -> Step:
    """A GAS goal in the client's words, its review in eight weeks."""
    return _do(
        actor,
        fields.SetGoal(
            text="Demo GAS goal: take part in a work try-out.",
            target_date=datetime.now(UTC) + timedelta(weeks=8),
            gas_baseline=-1,
            gas_much_less="Demo: I do not leave home on weekdays.",
            gas_less="Demo: I visit the work activity centre once a week.",
            gas_expected="Demo: I take part in a work try-out two days a week.",
            gas_more="Demo: I take part in a work try-out three days a week.",
            gas_much_more="Demo: I work part-time.",
        ),
    )


def _score_first_gas_goal(actor: DemoStaffMember, attainment: int) -> Step:
    async def step(progress: _Progress) -> ActionAnswer:
        assert progress.gas_goal_id is not None, "a GAS goal is set before it is scored"
        next_review = datetime.now(UTC) + timedelta(weeks=8)
        action = fields.ScoreGoal(goal_id=progress.gas_goal_id, attainment=attainment, next_review_at=next_review)
        return await act(progress.handle, BY_FIELDS[fields.ScoreGoal], actor=actor.staff_id, fields=action)

    return step


def _complete_assessment(actor: DemoStaffMember) -> Step:
    return _do(
        actor,
        fields.CompleteAssessment(
            summary="Demo: work ability partly reduced; able to work or study with support.",
            recommendation="Demo: vocational rehabilitation alongside rehabilitative work activity.",
        ),
    )


def _plan_steps(case_manager: DemoStaffMember) -> list[Step]:
    now = datetime.now(UTC)
    plan = fields.SetPlan(
        services=[
            fields.PlannedServiceInput(
                kind=ServiceKind.VOCATIONAL_REHABILITATION,
                provider="Demo Kela vocational rehabilitation provider",
                planned_start=now,
            ),
            fields.PlannedServiceInput(
                kind=ServiceKind.REHABILITATIVE_WORK_ACTIVITY,
                provider="Demo municipal work activity centre",
                planned_start=now,
                remote=True,
            ),
        ],
        note="Demo follow-up plan.",
    )
    return [_do(case_manager, plan), _service(case_manager, 0, ServiceStatusChange.STARTED)]


def demo_pathways() -> list[tuple[Intake, list[Step]]]:
    """Six pathways, each left in a different stage; professionals act as their case managers. The sixth is
    closed at triage (no need), so the short demo retention erases its record while someone watches."""
    return [
        (
            _intake(
                "demo-0001",
                ReferralSource.SELF_REFERRAL,
                None,
                "Demo: self-referral after a long period of unemployment.",
            ),
            [],
        ),
        (
            _intake(
                "demo-0002",
                ReferralSource.PROFESSIONAL_REFERRAL,
                ReferringOrganisation.EMPLOYMENT_SERVICES,
                "Demo: employment services ask for a work-ability assessment.",
            ),
            [
                _triage(TriageRoute.EXTENDED_ASSESSMENT, SOCIAL_WORKER, AssessmentLevel.BASIC),
                _work_ability(COORDINATOR, None, WorkAbilityOccasion.TRIAGE),
                _goal(SOCIAL_WORKER, "Demo goal: find out what kind of work I can still do."),
                _do(
                    SOCIAL_WORKER,
                    fields.AddInvestigation(
                        description="Demo: occupational physiotherapist's functional capacity evaluation"
                    ),
                ),
            ],
        ),
        (
            _intake(
                "demo-0003",
                ReferralSource.PROFESSIONAL_REFERRAL,
                ReferringOrganisation.KELA,
                "Demo: Kela refers the client for work-ability support.",
            ),
            [
                _triage(TriageRoute.HEALTH_CHECK, NURSE),
                _work_ability(COORDINATOR, 4, WorkAbilityOccasion.TRIAGE),
                _goal(NURSE, "Demo goal: return to working life part-time within a year."),
                _gas_goal(NURSE),
                _complete_assessment(NURSE),
                _work_ability(NURSE, 5, WorkAbilityOccasion.ASSESSMENT),
                *_plan_steps(NURSE),
                _work_ability(NURSE, 5, WorkAbilityOccasion.PLAN),
                _do(NURSE, fields.GiveSummary(channel=SummaryChannel.IN_PERSON)),
                _score_first_gas_goal(NURSE, -1),
                _do(NURSE, fields.RecordFollowUp(channel=ContactChannel.PHONE, note="Demo: the first week went well.")),
            ],
        ),
        (
            _intake(
                "demo-0004",
                ReferralSource.PROFESSIONAL_REFERRAL,
                ReferringOrganisation.MULTI_SECTOR_JOINT_SERVICE,
                "Demo: the multi-sector joint service refers the client.",
            ),
            [
                _triage(TriageRoute.EXTENDED_ASSESSMENT, SOCIAL_WORKER, AssessmentLevel.SPECIALIST),
                _work_ability(COORDINATOR, 3, WorkAbilityOccasion.TRIAGE),
                _goal(SOCIAL_WORKER, "Demo goal: start vocational studies."),
                _gas_goal(SOCIAL_WORKER),
                _complete_assessment(SOCIAL_WORKER),
                *_plan_steps(SOCIAL_WORKER),
                _score_first_gas_goal(SOCIAL_WORKER, 0),
                _service(SOCIAL_WORKER, 0, ServiceStatusChange.COMPLETED),
                _do(
                    SOCIAL_WORKER,
                    fields.RecordOutcome(
                        solution=LongTermSolution.STUDIES, description="Demo: accepted to a vocational college."
                    ),
                ),
                _work_ability(SOCIAL_WORKER, 7, WorkAbilityOccasion.OUTCOME),
            ],
        ),
        (
            _intake(
                "demo-0005",
                ReferralSource.PROFESSIONAL_REFERRAL,
                ReferringOrganisation.HEALTH_STATION,
                "Demo: the health station refers the client after sick leave.",
            ),
            [
                _triage(TriageRoute.HEALTH_CHECK, NURSE),
                _do(
                    NURSE,
                    fields.RequestTeamReview(
                        reason="Demo: the situation changed; the team should consider a specialist assessment."
                    ),
                ),
            ],
        ),
        (
            _intake("demo-0006", ReferralSource.SELF_REFERRAL, None, "Demo: asks about study guidance only."),
            [
                _do(
                    COORDINATOR,
                    fields.Triage(route=TriageRoute.NO_NEED, redirect_note="Demo: referred to student health care."),
                )
            ],
        ),
    ]


async def seed_demo_pathways(client: Client, task_queue: str) -> list[str]:
    """Start the demo pathways and move each to its stage; needs a worker on `task_queue`."""
    pathway_ids = []
    async with asyncio.timeout(SEED_TIMEOUT_SECONDS):
        for intake, steps in demo_pathways():
            intake.referred_at = datetime.now(UTC)
            pathway_id = f"pathway-{intake.client_reference}"
            handle = await start_pathway(
                client,
                task_queue,
                pathway_id=pathway_id,
                intake=intake,
                registered_by=NURSE.staff_id,
                policy=demo_policy(),
            )
            progress = _Progress(handle=handle, service_ids=[])
            for step in steps:
                await step(progress)
            pathway_ids.append(pathway_id)
    return pathway_ids


def format_tokens(tokens: dict[str, str]) -> str:
    """The readable block `make run` and `demo` print once: who is who, and their bearer tokens."""
    width = max(len(member.staff_id) for member in DEMO_STAFF)
    lines = [f"Demo team {DEMO_TEAM} added. Bearer tokens (shown only now; send as 'Authorization: Bearer <token>'):"]
    for member in DEMO_STAFF:
        token = tokens[member.staff_id]
        lines.append(f"  {member.staff_id:<{width}}  {member.role.value:<12}  {token}  ({member.profession})")
    return "\n".join(lines)
