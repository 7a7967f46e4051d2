"""FHIR export of pathways that ran on the real Temporal dev server with a real worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client

from interop.fhir import pathway_bundle, pathway_bundle_json
from models.pathway import (
    AddInvestigationInput,
    AssessmentLevel,
    AssignCaseManagerInput,
    CompleteAssessmentInput,
    CompleteInvestigationInput,
    ContactChannel,
    DecideTeamReviewInput,
    PathwayState,
    PlannedServiceInput,
    RecordFollowUpInput,
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
    looks_like_personal_identity_code,
)
from tests.workflows.helpers import (
    COORDINATOR,
    NURSE,
    PHYSICIAN,
    SOCIAL_WORKER,
    intake,
    new_client_reference,
    running_worker,
    start,
)
from workflows.pathway import PathwayWorkflow

from .bundle_checks import check_bundle, one, resolve, resources, status_history, tasks_by_code


def _client_reference() -> str:
    # Random hex can look like an identity code (six digits, A-F, three digits): the intake rejects those.
    while looks_like_personal_identity_code(reference := new_client_reference()):
        pass
    return reference


def _export(state: PathwayState) -> dict[str, Any]:
    bundle = pathway_bundle(state)
    bundle_json = pathway_bundle_json(state)
    check_bundle(state, bundle, bundle_json)
    return bundle_json


async def test_no_need_pathway_exports_a_cancelled_episode_with_a_revoked_referral(
    client: Client, task_queue: str
) -> None:
    async with running_worker(client, task_queue):
        handle = await start(client, task_queue, intake(_client_reference()))
        await handle.execute_update(
            PathwayWorkflow.triage,
            TriageInput(actor=COORDINATOR, route=TriageRoute.NO_NEED, redirect_note="Sent to student health care"),
        )
        state = await handle.result()

    bundle = _export(state)
    episode = one(bundle, "EpisodeOfCare")
    assert episode["status"] == "cancelled"
    assert status_history(bundle) == ["waitlist", "cancelled"]
    assert episode["period"]["end"] == state.closure.closed_at.isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
    assert "careManager" not in episode and "team" not in episode
    referral = resolve(bundle, episode["referralRequest"][0])
    assert referral["status"] == "revoked"
    assert resolve(bundle, referral["requester"])["resourceType"] == "Patient"  # a self-referral
    assert resources(bundle, "CareTeam") == [] and resources(bundle, "CarePlan") == []


async def test_health_check_in_services_exports_goals_every_service_status_follow_ups_and_reviews(
    client: Client, task_queue: str
) -> None:
    async with running_worker(client, task_queue):
        handle = await start(client, task_queue, intake(_client_reference()))
        await handle.execute_update(
            PathwayWorkflow.triage,
            TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
        )
        state = await handle.execute_update(
            PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text="Haluan päästä töihin kaupan alalle")
        )
        await handle.execute_update(
            PathwayWorkflow.set_goal,
            SetGoalInput(actor=NURSE, goal_id=state.goals[0].goal_id, text=state.goals[0].text, achieved=True),
        )
        await handle.execute_update(
            PathwayWorkflow.set_goal,
            SetGoalInput(actor=NURSE, text="Jaksaa arjessa", target_date=datetime(2027, 6, 1, tzinfo=UTC)),
        )
        await handle.execute_update(
            PathwayWorkflow.complete_assessment,
            CompleteAssessmentInput(actor=NURSE, summary="Fair work ability", recommendation="Work try-out first"),
        )
        kinds = [
            ServiceKind.EMPLOYMENT_SERVICES,
            ServiceKind.REHABILITATIVE_WORK_ACTIVITY,
            ServiceKind.MENTAL_HEALTH_SERVICES,
            ServiceKind.SOCIAL_WORK,
            ServiceKind.STUDY_GUIDANCE,
        ]
        begin = datetime.now(UTC)
        state = await handle.execute_update(
            PathwayWorkflow.set_plan,
            SetPlanInput(
                actor=NURSE,
                services=[
                    PlannedServiceInput(
                        kind=kind,
                        provider=f"Provider {i}",
                        planned_start=begin,
                        planned_end=begin + timedelta(days=60),
                        remote=i == 0,
                    )
                    for i, kind in enumerate(kinds)
                ],
            ),
        )
        ids = [service.service_id for service in state.services]
        for service_id, change in [
            (ids[0], ServiceStatusChange.STARTED),
            (ids[1], ServiceStatusChange.STARTED),
            (ids[1], ServiceStatusChange.COMPLETED),
            (ids[2], ServiceStatusChange.STARTED),
            (ids[2], ServiceStatusChange.INTERRUPTED),
            (ids[3], ServiceStatusChange.CANCELLED),
        ]:
            await handle.execute_update(
                PathwayWorkflow.update_service, UpdateServiceInput(actor=NURSE, service_id=service_id, change=change)
            )
        for note in ("Phoned: the try-out started well", "Met at the health station: tired but going"):
            await handle.execute_update(
                PathwayWorkflow.record_follow_up,
                RecordFollowUpInput(actor=NURSE, channel=ContactChannel.PHONE, note=note),
            )
        await handle.execute_update(
            PathwayWorkflow.request_team_review, RequestTeamReviewInput(actor=NURSE, reason="Needs a psychiatrist?")
        )
        await handle.execute_update(
            PathwayWorkflow.decide_team_review,
            DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.CONTINUE, note="Keep the plan"),
        )
        await handle.execute_update(
            PathwayWorkflow.request_team_review, RequestTeamReviewInput(actor=NURSE, reason="Housing is at risk")
        )
        full_state = await handle.query(PathwayWorkflow.get_state)
        await handle.terminate("test done")

    bundle = _export(full_state)
    episode = one(bundle, "EpisodeOfCare")
    assert episode["status"] == "active"
    assert status_history(bundle) == ["waitlist", "active"]
    assert resolve(bundle, episode["careManager"])["identifier"][0]["value"] == NURSE
    assert [t["coding"][0]["code"] for t in episode["type"]][1:] == ["health_check"]

    goals = resources(bundle, "Goal")
    assert sorted((g["description"]["text"], g["lifecycleStatus"]) for g in goals) == [
        ("Haluan päästä töihin kaupan alalle", "completed"),
        ("Jaksaa arjessa", "active"),
    ]
    assert all(resolve(bundle, g["expressedBy"])["resourceType"] == "Patient" for g in goals)

    plan = one(bundle, "CarePlan")
    assert plan["status"] == "active"
    statuses = [activity["detail"]["status"] for activity in plan["activity"]]
    assert statuses == ["in-progress", "completed", "stopped", "cancelled", "not-started"]
    providers = [resolve(bundle, a["detail"]["performer"][0])["name"] for a in plan["activity"]]
    assert providers == [f"Provider {i}" for i in range(5)]
    assert {resolve(bundle, goal)["resourceType"] for goal in plan["goal"]} == {"Goal"}
    assert resolve(bundle, plan["careTeam"][0]) == one(bundle, "CareTeam")

    follow_ups = tasks_by_code(bundle, "follow_up_contact")
    assert sorted(t["status"] for t in follow_ups) == ["completed", "completed", "ready"]
    due = next(t for t in follow_ups if t["status"] == "ready")
    assert due["restriction"]["period"]["end"] == full_state.next_follow_up_due.isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
    assert resolve(bundle, due["owner"])["identifier"][0]["value"] == NURSE
    assert all(resolve(bundle, t["basedOn"][0])["resourceType"] == "CarePlan" for t in follow_ups)

    reviews = tasks_by_code(bundle, "team_review")
    assert sorted(t["status"] for t in reviews) == ["completed", "requested"]
    decided = next(t for t in reviews if t["status"] == "completed")
    assert decided["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == "continue"
    assert all(resolve(bundle, t["owner"])["resourceType"] == "Organization" for t in reviews)


async def test_specialist_assessment_exports_investigations_and_the_handover_in_the_care_team(
    client: Client, task_queue: str
) -> None:
    async with running_worker(client, task_queue):
        handle = await start(
            client, task_queue, intake(_client_reference(), source=ReferralSource.PROFESSIONAL_REFERRAL)
        )
        await handle.execute_update(
            PathwayWorkflow.triage,
            TriageInput(
                actor=COORDINATOR,
                route=TriageRoute.EXTENDED_ASSESSMENT,
                assessment_level=AssessmentLevel.SPECIALIST,
                case_manager=SOCIAL_WORKER,
            ),
        )
        await handle.execute_update(
            PathwayWorkflow.add_investigation,
            AddInvestigationInput(actor=SOCIAL_WORKER, description="Neuropsychological examination"),
        )
        planned = await handle.execute_update(
            PathwayWorkflow.add_investigation,
            AddInvestigationInput(
                actor=SOCIAL_WORKER,
                description="Occupational physiotherapy assessment",
                provider="Satakunta hospital",
                due_at=datetime.now(UTC) + timedelta(days=30),
            ),
        )
        await handle.execute_update(
            PathwayWorkflow.assign_case_manager,
            AssignCaseManagerInput(actor=COORDINATOR, case_manager=PHYSICIAN, reason="Health needs dominate"),
        )
        await handle.execute_update(
            PathwayWorkflow.complete_investigation,
            CompleteInvestigationInput(
                actor=PHYSICIAN,
                investigation_id=planned.investigations[0].investigation_id,
                result_summary="Significant memory limitations",
            ),
        )
        state = await handle.query(PathwayWorkflow.get_state)
        await handle.terminate("test done")

    bundle = _export(state)
    episode = one(bundle, "EpisodeOfCare")
    assert episode["status"] == "active"
    assert [t["coding"][0]["code"] for t in episode["type"]][1:] == ["extended_assessment", "specialist"]
    assert resolve(bundle, episode["careManager"])["identifier"][0]["value"] == PHYSICIAN

    care_team = resolve(bundle, episode["team"][0])
    assert care_team["status"] == "active"
    members = [resolve(bundle, p["member"])["identifier"][0]["value"] for p in care_team["participant"]]
    assert members == [SOCIAL_WORKER, PHYSICIAN]
    first, second = (p["period"] for p in care_team["participant"])
    assert first["end"] == second["start"]  # the handover: one hands over as the other takes over
    assert "end" not in second

    referral = resolve(bundle, episode["referralRequest"][0])
    assert referral["status"] == "active"
    assert [c["code"] for c in referral["category"][0]["coding"]] == ["3457005", "professional_referral"]
    referrer = resolve(bundle, referral["requester"])
    assert referrer["resourceType"] == "Organization"
    assert referrer["type"][0]["coding"][0]["code"] == "employment_services"

    investigations = tasks_by_code(bundle, "investigation")
    by_status = {t["status"]: t for t in investigations}
    assert set(by_status) == {"completed", "requested"}
    # Completed after the handover, so the physician saw it through; the open one is the physician's now.
    assert resolve(bundle, by_status["completed"]["owner"])["identifier"][0]["value"] == PHYSICIAN
    assert resolve(bundle, by_status["requested"]["owner"])["identifier"][0]["value"] == PHYSICIAN
    assert by_status["requested"]["description"] == "Occupational physiotherapy assessment (Satakunta hospital)"
    assert "end" in by_status["requested"]["restriction"]["period"]
    assert resources(bundle, "CarePlan") == []
