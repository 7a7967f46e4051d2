"""FHIR export of pathways that ran on the real Temporal dev server with the real worker, through the API."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fhir.resources.R4B.bundle import Bundle

from interop.fhir import FhirExportInput
from models.record import PathwayRecord
from tests.support.fhir_validators import validate_fhir
from tests.support.fixtures import Org
from tests.support.helpers import eventually, intake_body, ok

from .bundle_checks import check_bundle, one, resolve, resources, status_history, tasks_by_code


async def _record(
    api: httpx.AsyncClient, auth: dict[str, str], pathway_id: str, *, closed: bool = False
) -> dict[str, Any]:
    async def read() -> Any:
        response = await api.get(f"/pathways/{pathway_id}", headers=auth)
        if response.status_code != 200 or (closed and response.json()["process"] != "closed"):
            return None
        return response.json()

    return await eventually(read, what=f"record of {pathway_id}")  # type: ignore[no-any-return]


async def _export(
    api: httpx.AsyncClient, auth: dict[str, str], pathway_id: str, *, closed: bool = False
) -> dict[str, Any]:
    record = await _record(api, auth, pathway_id, closed=closed)
    bundle_json = ok(await api.get(f"/pathways/{pathway_id}/fhir", headers=auth))
    fields = {name: value for name, value in record.items() if name in PathwayRecord.model_fields}
    check_bundle(
        FhirExportInput(record=PathwayRecord.model_validate(fields)), Bundle.model_validate(bundle_json), bundle_json
    )
    with tempfile.TemporaryDirectory() as folder:
        assert validate_fhir({pathway_id: bundle_json}, Path(folder)) == {pathway_id: []}
    return bundle_json  # type: ignore[no-any-return]


async def _start(api: httpx.AsyncClient, org: Org, **overrides: Any) -> str:
    return str(
        ok(await api.post("/pathways", json=intake_body(org.team, **overrides), headers=org.nurse.auth), 201)[
            "pathway_id"
        ]
    )


async def test_no_need_pathway_exports_a_cancelled_episode_with_a_revoked_referral(
    api: httpx.AsyncClient, org: Org
) -> None:
    pathway_id = await _start(api, org, referral_source="self_referral", referring_organisation=None)
    triage = {"route": "no_need", "redirect_note": "Sent to student health care"}
    ok(await api.post(f"/pathways/{pathway_id}/triage", json=triage, headers=org.coordinator.auth))
    bundle = await _export(api, org.nurse.auth, pathway_id, closed=True)
    record = await _record(api, org.nurse.auth, pathway_id)
    episode = one(bundle, "EpisodeOfCare")
    assert episode["status"] == "cancelled"
    assert status_history(bundle) == ["waitlist", "cancelled"]
    assert episode["period"]["end"] == record["closure"]["closed_at"].replace("+00:00", "Z")
    assert "careManager" not in episode and "team" not in episode
    referral = resolve(bundle, episode["referralRequest"][0])
    assert referral["status"] == "revoked"
    assert resolve(bundle, referral["requester"])["resourceType"] == "Patient"  # a self-referral
    assert resources(bundle, "CareTeam") == [] and resources(bundle, "CarePlan") == []


async def test_health_check_in_services_exports_goals_every_service_status_follow_ups_and_reviews(
    api: httpx.AsyncClient, org: Org
) -> None:
    nurse, coordinator = org.nurse.auth, org.coordinator.auth
    pathway_id = await _start(api, org)
    pathway = f"/pathways/{pathway_id}"
    ok(
        await api.post(
            f"{pathway}/triage", json={"route": "health_check", "case_manager": org.nurse.staff_id}, headers=coordinator
        )
    )
    [goal_id] = ok(
        await api.post(f"{pathway}/goals", json={"text": "Haluan päästä töihin kaupan alalle"}, headers=nurse)
    )["created_ids"]
    ok(
        await api.post(
            f"{pathway}/goals",
            json={"goal_id": goal_id, "text": "Haluan päästä töihin kaupan alalle", "achieved": True},
            headers=nurse,
        )
    )
    ok(
        await api.post(
            f"{pathway}/goals", json={"text": "Jaksaa arjessa", "target_date": "2027-06-01T00:00:00Z"}, headers=nurse
        )
    )
    ok(
        await api.post(
            f"{pathway}/assessment",
            json={"summary": "Fair work ability", "recommendation": "Work try-out first"},
            headers=nurse,
        )
    )
    kinds = [
        "employment_services",
        "rehabilitative_work_activity",
        "mental_health_services",
        "social_work",
        "study_guidance",
    ]
    begin = datetime.now(UTC)
    services = [
        {
            "kind": kind,
            "provider": f"Provider {i}",
            "planned_start": begin.isoformat(),
            "planned_end": (begin + timedelta(days=60)).isoformat(),
            "remote": i == 0,
        }
        for i, kind in enumerate(kinds)
    ]
    ids = ok(await api.post(f"{pathway}/plan", json={"services": services}, headers=nurse))["created_ids"]
    for index, change in [
        (0, "started"),
        (1, "started"),
        (1, "completed"),
        (2, "started"),
        (2, "interrupted"),
        (3, "cancelled"),
    ]:
        ok(await api.post(f"{pathway}/services/{ids[index]}", json={"change": change}, headers=nurse))
    for note in ("Phoned: the try-out started well", "Met at the health station: tired but going"):
        ok(await api.post(f"{pathway}/follow-ups", json={"channel": "phone", "note": note}, headers=nurse))
    ok(await api.post(f"{pathway}/team-review", json={"reason": "Needs a psychiatrist?"}, headers=nurse))
    ok(
        await api.post(
            f"{pathway}/team-review/decision",
            json={"decision": "continue", "note": "Keep the plan"},
            headers=coordinator,
        )
    )
    ok(await api.post(f"{pathway}/team-review", json={"reason": "Housing is at risk"}, headers=nurse))

    bundle = await _export(api, nurse, pathway_id)
    record = await _record(api, nurse, pathway_id)
    episode = one(bundle, "EpisodeOfCare")
    assert episode["status"] == "active"
    assert status_history(bundle) == ["waitlist", "active"]
    assert resolve(bundle, episode["careManager"])["identifier"][0]["value"] == org.nurse.staff_id
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

    # The two contacts are Encounters in the episode, by the nurse (named); the next one due is a Task.
    contacts = resources(bundle, "Encounter")
    assert [c["status"] for c in contacts] == ["finished", "finished"]
    episode_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "EpisodeOfCare")
    assert all(c["episodeOfCare"][0]["reference"] == episode_url for c in contacts)
    performer = contacts[0]["participant"][0]["individual"]
    assert resolve(bundle, performer)["identifier"][0]["value"] == org.nurse.staff_id
    assert performer["display"] == resolve(bundle, performer)["name"][0]["text"]
    [due] = tasks_by_code(bundle, "follow_up_contact")
    assert due["status"] == "ready" and due["focus"]["reference"] == episode_url
    assert due["restriction"]["period"]["end"] == record["next_follow_up_due"].replace("+00:00", "Z")
    assert resolve(bundle, due["owner"])["identifier"][0]["value"] == org.nurse.staff_id
    assert resolve(bundle, due["basedOn"][0])["resourceType"] == "CarePlan"

    reviews = tasks_by_code(bundle, "team_review")
    assert sorted(t["status"] for t in reviews) == ["completed", "requested"]
    decided = next(t for t in reviews if t["status"] == "completed")
    assert decided["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == "continue"
    assert all(resolve(bundle, t["owner"])["resourceType"] == "Organization" for t in reviews)
    # Every review is about the episode and follows from the referral.
    assert all(t["focus"]["reference"] == episode_url for t in reviews)
    assert all(resolve(bundle, t["basedOn"][0])["resourceType"] == "ServiceRequest" for t in reviews)


async def test_specialist_assessment_exports_investigations_and_the_handover_in_the_care_team(
    api: httpx.AsyncClient, org: Org
) -> None:
    social, nurse, coordinator = org.social_worker, org.nurse, org.coordinator.auth
    pathway_id = await _start(api, org)
    pathway = f"/pathways/{pathway_id}"
    triage = {"route": "extended_assessment", "assessment_level": "specialist", "case_manager": social.staff_id}
    ok(await api.post(f"{pathway}/triage", json=triage, headers=coordinator))
    ok(
        await api.post(
            f"{pathway}/investigations", json={"description": "Neuropsychological examination"}, headers=social.auth
        )
    )
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    body = {"description": "Occupational physiotherapy assessment", "provider": "Satakunta hospital", "due_at": later}
    [planned] = ok(await api.post(f"{pathway}/investigations", json=body, headers=social.auth))["created_ids"]
    ok(
        await api.post(
            f"{pathway}/case-manager",
            json={"case_manager": nurse.staff_id, "reason": "Health needs dominate"},
            headers=coordinator,
        )
    )
    accept = {"note": "Briefed by the social worker", "client_informed": True, "client_informed_via": "phone"}
    ok(await api.post(f"{pathway}/handover/accept", json=accept, headers=nurse.auth))
    ok(
        await api.post(
            f"{pathway}/investigations/{planned}/complete",
            json={"result_summary": "Significant memory limitations"},
            headers=nurse.auth,
        )
    )

    bundle = await _export(api, nurse.auth, pathway_id)
    episode = one(bundle, "EpisodeOfCare")
    assert episode["status"] == "active"
    assert [t["coding"][0]["code"] for t in episode["type"]][1:] == ["extended_assessment", "specialist"]
    assert resolve(bundle, episode["careManager"])["identifier"][0]["value"] == nurse.staff_id

    care_team = resolve(bundle, episode["team"][0])
    assert care_team["status"] == "active"
    members = [resolve(bundle, p["member"])["identifier"][0]["value"] for p in care_team["participant"]]
    assert members == [social.staff_id, nurse.staff_id]
    first, second = (p["period"] for p in care_team["participant"])
    assert first["end"] == second["start"]  # the handover: one hands over as the other takes over
    assert "end" not in second

    referral = resolve(bundle, episode["referralRequest"][0])
    assert referral["status"] == "active"
    # What the request is (SNOMED) and where it came from (the product's code) are separate categories.
    assert [[c["code"] for c in category["coding"]] for category in referral["category"]] == [
        ["3457005"],
        ["professional_referral"],
    ]
    referrer = resolve(bundle, referral["requester"])
    assert referrer["resourceType"] == "Organization"
    assert referrer["type"][0]["coding"][0]["code"] == "employment_services"

    investigations = tasks_by_code(bundle, "investigation")
    by_status = {t["status"]: t for t in investigations}
    assert set(by_status) == {"completed", "requested"}
    # Whoever ordered an investigation asked for it (its requester), whoever completed it owns it.
    assert resolve(bundle, by_status["completed"]["requester"])["identifier"][0]["value"] == social.staff_id
    assert resolve(bundle, by_status["completed"]["owner"])["identifier"][0]["value"] == nurse.staff_id
    assert resolve(bundle, by_status["requested"]["owner"])["identifier"][0]["value"] == nurse.staff_id
    assert by_status["requested"]["description"] == "Neuropsychological examination"
    assert by_status["completed"]["description"] == "Occupational physiotherapy assessment (Satakunta hospital)"
    assert "end" in by_status["completed"]["restriction"]["period"]
    assert resources(bundle, "CarePlan") == []
