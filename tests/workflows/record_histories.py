"""Record full-scenario histories into tests/histories/ for the replay test.

Run after a deliberate workflow change (`python -m tests.workflows.record_histories 1.1.0`, the release
that makes the change) and commit the new files NEXT TO the old ones: the old histories stand for pathways
already running in production (docs/architecture.md, "Versioning").
Scenarios run on a real dev server with the production worker on a temporary SQLite database.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.crypto import RecordSealer
from core.settings import Settings
from core.temporal import data_converter, temporal_cli_path
from models import actions as a
from models.measures import GasOccasion, WorkAbilityOccasion
from models.pathway import (
    PARTNER_ACTOR_PREFIX,
    AssessmentLevel,
    ClosureReason,
    ConsentScope,
    ContactChannel,
    LongTermSolution,
    MeetingRole,
    PathwayPolicy,
    ReferralAnswer,
    ServiceKind,
    ServiceStatusChange,
    SummaryChannel,
    TeamReviewDecision,
    TransitionDecision,
    TriageRoute,
)
from tests.support.fixtures import Org, make_org, migrated, running_worker
from tests.support.helpers import eventually, intake
from tests.support.pathways import DrivenPathway, start_driven
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
TASK_QUEUE = "record-histories"


def _now_service(kind: ServiceKind, provider: str) -> a.PlannedServiceInput:
    return a.PlannedServiceInput(kind=kind, provider=provider, planned_start=datetime.now(UTC))


async def health_check_to_employment(client: Client, org: Org, start: Start) -> DrivenPathway:
    policy = PathwayPolicy(sustainment_period=timedelta(seconds=2), service_gap_allowed=timedelta(seconds=1))
    nurse = org.nurse.staff_id
    pathway = await start(intake(org.team), policy)
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    await pathway.do(nurse, a.SetGoal(text="Work in retail"))
    await pathway.do(nurse, a.CompleteAssessment(summary="Fair", recommendation="Try-out"))
    answer = await pathway.do(
        nurse,
        a.SetPlan(
            services=[
                _now_service(ServiceKind.EMPLOYMENT_SERVICES, "TE"),
                _now_service(ServiceKind.SOCIAL_WORK, "Social"),
            ]
        ),
    )
    first, second = answer.created_ids
    await pathway.do(nurse, a.UpdateService(service_id=first, change=ServiceStatusChange.STARTED))
    await pathway.do(nurse, a.UpdateService(service_id=first, change=ServiceStatusChange.COMPLETED))
    # Let the service-gap notice fire so the history has a timer and its recording.
    await asyncio.sleep(1.5)
    await pathway.do(nurse, a.UpdateService(service_id=second, change=ServiceStatusChange.STARTED))
    await pathway.do(nurse, a.RecordFollowUp(channel=ContactChannel.REMOTE, note="ok"))
    await pathway.do(nurse, a.RecordOutcome(solution=LongTermSolution.EMPLOYMENT, description="Job"))
    await asyncio.sleep(2.5)
    await pathway.do(nurse, a.RecordFeedback(rating=4))
    await pathway.do(nurse, a.ConfirmSustainment(held=True, note="Held"))
    await pathway.handle.result()
    return pathway


async def specialist_assessment_with_team_review(client: Client, org: Org, start: Start) -> DrivenPathway:
    policy = PathwayPolicy(
        follow_up_interval=timedelta(seconds=2),
        follow_up_reminder_before=timedelta(seconds=1),
        follow_up_grace=timedelta(seconds=1),
        continue_as_new_after_events=60,
    )
    social_worker, physician, coordinator = org.social_worker.staff_id, org.nurse.staff_id, org.coordinator.staff_id
    pathway = await start(intake(org.team, professional=True), policy)
    await pathway.do(
        coordinator,
        a.Triage(
            route=TriageRoute.EXTENDED_ASSESSMENT,
            assessment_level=AssessmentLevel.SPECIALIST,
            case_manager=social_worker,
        ),
    )
    answer = await pathway.do(social_worker, a.AddInvestigation(description="Neuropsych"))
    await pathway.do(coordinator, a.AssignCaseManager(case_manager=physician, reason="Health needs"))
    await pathway.do(
        physician,
        a.AcceptHandover(note="Briefed by phone", client_informed=True, client_informed_via=ContactChannel.PHONE),
    )
    await pathway.do(
        physician, a.CompleteInvestigation(investigation_id=answer.created_ids[0], result_summary="Limits")
    )
    await pathway.do(physician, a.CompleteAssessment(summary="Reduced", recommendation="Rehab"))
    await pathway.do(physician, a.SetPlan(services=[_now_service(ServiceKind.VOCATIONAL_REHABILITATION, "Kela")]))
    await eventually(lambda: pathway.row() is not None and pathway.row().team_review_pending, what="follow-up overdue")  # type: ignore[union-attr]
    await pathway.do(coordinator, a.DecideTeamReview(decision=TeamReviewDecision.REVISE_PLAN, note="Pension"))
    await pathway.do(
        physician,
        a.SetPlan(services=[_now_service(ServiceKind.SOCIAL_WORK, "Social")], follow_up_interval=timedelta(days=30)),
    )
    await pathway.do(physician, a.RequestTeamReview(reason="Pension decision"))
    await pathway.do(coordinator, a.DecideTeamReview(decision=TeamReviewDecision.CONTINUE, note="Go on"))
    # Enough follow-ups to continue as new at least once.
    for _ in range(12):
        await pathway.do(physician, a.RecordFollowUp(channel=ContactChannel.PHONE, note="Call"))
    await pathway.do(physician, a.RecordOutcome(solution=LongTermSolution.DISABILITY_PENSION, description="Granted"))
    await pathway.do(physician, a.ConfirmSustainment(held=False, note="Rejected"))
    await pathway.settled()
    return pathway


async def no_need(client: Client, org: Org, start: Start) -> DrivenPathway:
    pathway = await start(intake(org.team), PathwayPolicy())
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.NO_NEED, redirect_note="Student health care"))
    await pathway.handle.result()
    return pathway


async def safe_transitions(client: Client, org: Org, start: Start) -> DrivenPathway:
    """A missed start, a referral with consent answered by the partner, an interruption decided, a warm
    hand-over that waited, and a network meeting that revised the plan: every new deadline and action."""
    policy = PathwayPolicy(
        commitment_grace=timedelta(seconds=1),
        handover_accept_within=timedelta(seconds=1),
        network_meeting_reminder_before=timedelta(seconds=1),
    )
    nurse, social_worker, coordinator = org.nurse.staff_id, org.social_worker.staff_id, org.coordinator.staff_id
    partner = "kela-satakunta"
    pathway = await start(intake(org.team), policy)
    await pathway.do(coordinator, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    await pathway.do(nurse, a.CompleteAssessment(summary="Fair", recommendation="Rehabilitation and social work"))
    answer = await pathway.do(
        nurse,
        a.SetPlan(
            services=[
                _now_service(ServiceKind.SOCIAL_WORK, "Social"),
                _now_service(ServiceKind.VOCATIONAL_REHABILITATION, "Kela"),
            ]
        ),
    )
    social, rehab = answer.created_ids
    await pathway.do(nurse, a.UpdateService(service_id=social, change=ServiceStatusChange.STARTED))
    await asyncio.sleep(1.5)  # the rehabilitation's planned start is missed: the reminder fires
    consent = await pathway.do(
        nurse, a.RecordConsent(partner_id=partner, scopes=[ConsentScope.REFERRAL], given_at=datetime.now(UTC))
    )
    referral = await pathway.do(
        nurse, a.ReferService(service_id=rehab, partner_id=partner, message="Needs a work try-out")
    )
    partner_actor = f"{PARTNER_ACTOR_PREFIX}{partner}"
    referral_id = referral.created_ids[0]
    await pathway.do(partner_actor, a.AnswerReferral(referral_id=referral_id, answer=ReferralAnswer.ACCEPTED))
    await pathway.do(partner_actor, a.AnswerReferral(referral_id=referral_id, answer=ReferralAnswer.STARTED))
    interrupted = await pathway.do(
        nurse, a.UpdateService(service_id=social, change=ServiceStatusChange.INTERRUPTED, note="Moved")
    )
    await pathway.do(
        nurse,
        a.DecideTransition(
            transition_id=interrupted.created_ids[0], decision=TransitionDecision.ACCEPT, note="Rehab goes on"
        ),
    )
    await pathway.do(coordinator, a.AssignCaseManager(case_manager=social_worker, reason="Social needs"))
    await asyncio.sleep(1.5)  # the hand-over waits: the incoming case manager is reminded
    await pathway.do(
        social_worker,
        a.AcceptHandover(note="Met the client", client_informed=True, client_informed_via=ContactChannel.IN_PERSON),
    )
    await pathway.do(social_worker, a.RecordFollowUp(channel=ContactChannel.PHONE, note="ok"))
    participants = [
        a.MeetingParticipant(role=MeetingRole.TEAM_MEMBER, staff_id=social_worker),
        a.MeetingParticipant(role=MeetingRole.CLIENT),
    ]
    await pathway.do(
        social_worker,
        a.ScheduleNetworkMeeting(at=datetime.now(UTC) + timedelta(seconds=2), participants=participants),
    )
    await asyncio.sleep(1.5)  # the meeting's reminder fires
    await pathway.do(
        social_worker,
        a.RecordNetworkMeeting(
            held_at=datetime.now(UTC),
            participants=participants,
            decisions="Rehabilitation goes on; no new service",
        ),
    )
    await pathway.do(social_worker, a.WithdrawConsent(consent_id=consent.created_ids[0], note="Client asked"))
    await pathway.do(social_worker, a.Close(reason=ClosureReason.CLIENT_DECLINED, note="Declined further support"))
    await pathway.handle.result()
    return pathway


async def work_ability_measured(client: Client, org: Org, start: Start) -> DrivenPathway:
    """The Work Ability Score at each moment the seeds ask, a GAS goal whose review date passes unscored
    (reminded, then brought to the team) before it is scored at a review and at closing, the client's copy
    of the plan given, and the client's own feedback through their link."""
    policy = PathwayPolicy(
        sustainment_period=timedelta(seconds=2),
        commitment_grace=timedelta(seconds=1),
        commitment_escalate_after=timedelta(seconds=1),
    )
    nurse, coordinator = org.nurse.staff_id, org.coordinator.staff_id
    pathway = await start(intake(org.team), policy)
    await pathway.do(coordinator, a.RecordWorkAbility(score=3))
    await pathway.do(coordinator, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    levels = {name: f"level {name}" for name in a.GAS_LEVEL_FIELDS}
    review = datetime.now(UTC) + timedelta(seconds=1)
    goal = await pathway.do(nurse, a.SetGoal(text="Work try-out", gas_baseline=-1, target_date=review, **levels))
    [goal_id] = goal.created_ids
    await pathway.do(nurse, a.CompleteAssessment(summary="Fair", recommendation="Try-out"))
    await pathway.do(nurse, a.RecordWorkAbility(declined=True))
    await asyncio.sleep(3.5)  # the review reminds, then goes to the team
    await pathway.do(
        coordinator, a.DecideTeamReview(decision=TeamReviewDecision.CONTINUE, note="Score the goal with the client")
    )
    await pathway.do(nurse, a.SetPlan(services=[_now_service(ServiceKind.EMPLOYMENT_SERVICES, "TE")]))
    await pathway.do(nurse, a.GiveSummary(channel=SummaryChannel.BY_POST))
    next_review = datetime.now(UTC) + timedelta(days=60)
    await pathway.do(nurse, a.ScoreGoal(goal_id=goal_id, attainment=-1, next_review_at=next_review))
    await pathway.do(nurse, a.RecordOutcome(solution=LongTermSolution.EMPLOYMENT, description="Job"))
    await pathway.do(nurse, a.RecordWorkAbility(score=6))
    await pathway.do(nurse, a.ScoreGoal(goal_id=goal_id, attainment=1, occasion=GasOccasion.CLOSING))
    await asyncio.sleep(2.5)
    await pathway.do(nurse, a.RecordWorkAbility(score=8, occasion=WorkAbilityOccasion.SUSTAINMENT_END))
    # The client's own feedback through their link (the actor is the link, the case manager is told).
    await pathway.do("client:0123456789abcdef", a.RecordFeedback(rating=4, knows_whom_to_contact=True))
    await pathway.do(nurse, a.ConfirmSustainment(held=True, note="Held"))
    await pathway.handle.result()
    return pathway


SCENARIOS = {
    "health_check_to_employment": health_check_to_employment,
    "specialist_assessment_with_team_review": specialist_assessment_with_team_review,
    "no_need": no_need,
    "safe_transitions": safe_transitions,
    "work_ability_measured": work_ability_measured,
}


class Start:
    """Starts a scenario's pathway on the production worker."""

    def __init__(self, client: Client, engine: object, sealer: RecordSealer, org: Org) -> None:
        self._client, self._engine, self._sealer, self._org = client, engine, sealer, org

    async def __call__(self, pathway_intake: a.Intake, policy: PathwayPolicy) -> DrivenPathway:
        return await start_driven(
            self._client,
            TASK_QUEUE,
            self._engine,  # type: ignore[arg-type]
            self._sealer,
            pathway_intake,
            registered_by=self._org.coordinator.staff_id,
            policy=policy,
        )


async def save_all_runs(client: Client, pathway_id: str, name: str, tag: str) -> int:
    """Save every run of the pathway (continue-as-new makes several)."""
    saved = 0
    async for execution in client.list_workflows(f'WorkflowId = "{pathway_id}"'):
        history = await client.get_workflow_handle(pathway_id, run_id=execution.run_id).fetch_history()
        started = history.events[0].event_time.ToDatetime().strftime("%Y%m%dT%H%M%S%f")
        path = HISTORIES / f"{tag}-{name}-{started}.json"
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
        saved += 1
    return saved


async def main(tag: str) -> None:
    HISTORIES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/histories.db"
        engine = migrated(url)
        org = make_org(engine)
        # Saved histories are test data, replayed without keys.
        settings = Settings(task_queue=TASK_QUEUE, database_url=url, require_encryption=False)
        async with (
            await WorkflowEnvironment.start_local(
                data_converter=data_converter(),
                search_attributes=ALL_SEARCH_ATTRIBUTES,
                dev_server_existing_path=str(temporal_cli_path()),
            ) as env,
            running_worker(env.client, settings, engine) as effects,
        ):
            start = Start(env.client, engine, effects.sealer, org)
            for name, scenario in SCENARIOS.items():
                pathway = await scenario(env.client, org, start)
                await asyncio.sleep(1)  # the visibility store catches up
                count = await save_all_runs(env.client, pathway.pathway_id, name, tag)
                print(f"{name}: {count} run(s) saved")
        engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 2 or "-" in sys.argv[1]:
        sys.exit("usage: python -m tests.workflows.record_histories RELEASE (e.g. 1.1.0; no '-')")
    asyncio.run(main(sys.argv[1]))
