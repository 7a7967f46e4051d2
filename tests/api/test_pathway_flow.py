"""Whole pathways through HTTP only: intake to closure, the record, listings, caseload and team reviews."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.tables import AuditLogEntry
from tests.support.fixtures import Org
from tests.support.helpers import client_reference, eventually, ok, service_body, start_via_api

DEMO_POLICY = {"sustainment_period": "PT2S", "sustainment_confirm_grace": "PT1H"}


async def test_complete_pathway_from_intake_to_closure_through_http(api: httpx.AsyncClient, org: Org) -> None:
    coordinator, nurse = org.coordinator.auth, org.nurse.auth
    reference = client_reference()
    response = await api.post(
        "/pathways",
        json={
            "client_reference": reference,
            "team": org.team,
            "referral_source": "self_referral",
            "client_language": "sv",
            "reason": "Wants to return to work after a long sick leave",
            "demo": True,
            "policy": DEMO_POLICY,
        },
        headers=nurse,
    )
    receipt = ok(response, 201)
    pathway = f"/pathways/{receipt['pathway_id']}"
    assert response.headers["Location"] == pathway
    assert receipt["pathway_id"] == f"pathway-{reference}" and receipt["ordinal"] == 1
    assert (receipt["team"], receipt["stage"], receipt["registered_by"], receipt["demo"]) == (
        org.team,
        "awaiting_triage",
        org.nurse.staff_id,
        True,
    )

    async def record() -> dict[str, Any] | None:
        answer = await api.get(pathway, headers=nurse)
        return answer.json() if answer.status_code == 200 else None

    state = await eventually(record, what="the record of the new pathway")
    assert state["stage"] == "awaiting_triage" and state["process"] == "running"
    assert state["referral"]["registered_by"] == org.nurse.staff_id
    assert state["referral"]["client_language"] == "sv"
    assert state["referral"]["reason"] == "Wants to return to work after a long sick leave"
    assert state["next_deadline"]["kind"] == "triage_due"

    answer = ok(
        await api.post(
            f"{pathway}/triage",
            json={"route": "extended_assessment", "assessment_level": "basic", "case_manager": org.nurse.staff_id},
            headers=coordinator,
        )
    )
    assert (answer["stage"], answer["case_manager"]) == ("assessment", org.nurse.staff_id)
    ok(await api.post(f"{pathway}/goals", json={"text": "Start vocational studies"}, headers=nurse))
    # A read right after an action shows it, whether or not the database has it yet.
    assert [goal["text"] for goal in ok(await api.get(pathway, headers=nurse))["goals"]] == ["Start vocational studies"]

    answer = ok(await api.post(f"{pathway}/investigations", json={"description": "Physiotherapist"}, headers=nurse))
    [investigation_id] = answer["created_ids"]
    ok(
        await api.post(
            f"{pathway}/investigations/{investigation_id}/complete",
            json={"result_summary": "Can work part-time"},
            headers=nurse,
        )
    )
    state = ok(await api.get(pathway, headers=nurse))
    assert state["investigations"][0]["status"] == "completed"
    assert state["investigations"][0]["result_summary"] == "Can work part-time"

    answer = ok(
        await api.post(
            f"{pathway}/assessment",
            json={"summary": "Reduced work ability", "recommendation": "Vocational rehabilitation"},
            headers=nurse,
        )
    )
    assert answer["stage"] == "planning"
    answer = ok(await api.post(f"{pathway}/plan", json={"services": [service_body()]}, headers=nurse))
    assert answer["stage"] == "in_services"
    [service_id] = answer["created_ids"]
    ok(await api.post(f"{pathway}/services/{service_id}", json={"change": "started"}, headers=nurse))
    ok(await api.post(f"{pathway}/follow-ups", json={"channel": "phone", "note": "Going well"}, headers=nurse))
    ok(await api.post(f"{pathway}/team-review", json={"reason": "Second opinion"}, headers=nurse))
    answer = ok(
        await api.post(
            f"{pathway}/team-review/decision",
            json={
                "decision": "change_case_manager",
                "note": "Social work need",
                "new_case_manager": org.social_worker.staff_id,
            },
            headers=coordinator,
        )
    )
    # The team's decision proposes the hand-over; the social worker takes the pathway over by accepting it.
    assert (answer["case_manager"], answer["handover_to"]) == (org.nurse.staff_id, org.social_worker.staff_id)
    assert not answer["team_review_pending"]
    social_worker = org.social_worker.auth
    accept = {"note": "Met the client with the nurse", "client_informed": True, "client_informed_via": "in_person"}
    answer = ok(await api.post(f"{pathway}/handover/accept", json=accept, headers=social_worker))
    assert (answer["case_manager"], answer["handover_to"]) == (org.social_worker.staff_id, None)
    ok(
        await api.post(
            f"{pathway}/outcome", json={"solution": "studies", "description": "Admitted"}, headers=social_worker
        )
    )
    ok(await api.post(f"{pathway}/feedback", json={"rating": 5, "comment": "Helpful"}, headers=social_worker))

    # The solution can be confirmed only after the (demo) sustainment period of two seconds.
    async def confirmed() -> dict[str, Any] | None:
        response = await api.post(
            f"{pathway}/sustainment/confirm", json={"held": True, "note": "Studying"}, headers=social_worker
        )
        if response.status_code == 409 and "sustainment period runs until" in response.json()["detail"]:
            return None
        return ok(response)  # type: ignore[no-any-return]

    answer = await eventually(confirmed, timeout=15, interval=0.5, what="sustainment confirmed")
    assert answer["stage"] == "closed"

    closed = await eventually(
        lambda: _closed_record(api, pathway, nurse), what="the closed pathway's record", timeout=20
    )
    assert closed["closure"]["reason"] == "completed" and closed["process"] == "closed"
    assert [p["staff_id"] for p in closed["case_manager_history"]] == [org.nurse.staff_id, org.social_worker.staff_id]
    assert closed["follow_ups"][0]["note"] == "Going well"
    assert closed["feedback"][0]["comment"] == "Helpful"
    assert closed["outcome"]["held"] is True

    timeline = ok(await api.get(f"{pathway}/timeline", headers=coordinator))["items"]
    kinds = [event["kind"] for event in timeline]
    assert kinds[0] == "referral_received" and kinds[-1] == "closed"
    assert {"triaged", "case_manager_changed", "outcome_recorded", "sustainment_confirmed"} <= set(kinds)
    actors = {event["kind"]: event["actor"] for event in timeline}
    assert actors["triaged"] == org.coordinator.staff_id
    assert actors["referral_received"] == org.nurse.staff_id
    # The timeline carries coded facts, never the notes.
    assert "Going well" not in str(timeline)

    follow_ups = ok(await api.get(f"{pathway}/follow-ups", headers=nurse))
    assert [item["note"] for item in follow_ups["items"]] == ["Going well"]

    audit = ok(
        await api.get(f"{pathway}/audit", params={"purpose": "supervision: quality review"}, headers=coordinator)
    )
    actions = [(entry["staff_id"], entry["action"], entry["outcome"]) for entry in audit]
    assert actions[0] == (org.nurse.staff_id, "start", "ok")
    assert (org.coordinator.staff_id, "triage", "ok") in actions
    assert (org.nurse.staff_id, "read_record", "ok") in actions
    assert (org.coordinator.staff_id, "read_timeline", "ok") in actions
    assert (org.nurse.staff_id, "read_follow_ups", "ok") in actions


async def _closed_record(api: httpx.AsyncClient, pathway: str, auth: dict[str, str]) -> dict[str, Any] | None:
    state = ok(await api.get(pathway, headers=auth))
    return state if state["process"] == "closed" and state["closure"] else None


async def _equals(listing: Awaitable[list[str]], expected: list[str]) -> bool:
    return await listing == expected


async def test_listing_filters_by_stage_case_manager_and_team_review(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    nurse = org.nurse.auth
    waiting = await start_via_api(api, nurse, org.team)
    triaged = await start_via_api(api, nurse, org.team)
    ok(
        await api.post(
            f"/pathways/{triaged['pathway_id']}/triage",
            json={"route": "health_check", "case_manager": org.nurse.staff_id},
            headers=nurse,
        )
    )
    ok(await api.post(f"/pathways/{triaged['pathway_id']}/team-review", json={"reason": "Unclear"}, headers=nurse))

    async def listed(**params: str) -> list[str]:
        page = ok(await api.get("/pathways", params={"team": org.team, **params}, headers=nurse))
        return sorted(item["pathway_id"] for item in page["items"])

    both = sorted([waiting["pathway_id"], triaged["pathway_id"]])
    assert await listed() == both
    await eventually(lambda: _equals(listed(stage="awaiting_triage"), [waiting["pathway_id"]]), what="stage filter")
    await eventually(
        lambda: _equals(listed(case_manager=org.nurse.staff_id), [triaged["pathway_id"]]), what="case manager filter"
    )
    await eventually(
        lambda: _equals(listed(team_review_pending="true"), [triaged["pathway_id"]]), what="team review filter"
    )
    assert await listed(overdue="true") == []
    assert await listed(open="false") == []

    first = ok(await api.get("/pathways", params={"team": org.team, "page_size": 1}, headers=nurse))
    assert len(first["items"]) == 1 and first["next_page_token"]
    second = ok(
        await api.get(
            "/pathways",
            params={"team": org.team, "page_size": 1, "page_token": first["next_page_token"]},
            headers=nurse,
        )
    )
    assert sorted([first["items"][0]["pathway_id"], second["items"][0]["pathway_id"]]) == both
    assert second["next_page_token"] is None

    # Being shown in a listing is a read of the pathway, and is on record as one.
    with Session(sqlite_engine) as session:
        listed_ids = session.exec(
            select(AuditLogEntry.pathway_id).where(
                AuditLogEntry.staff_id == org.nurse.staff_id, col(AuditLogEntry.action) == "listed"
            )
        ).all()
    assert set(listed_ids) == set(both)


async def test_caseload_lists_own_pathways_soonest_deadline_first(api: httpx.AsyncClient, org: Org) -> None:
    nurse, social_worker = org.nurse.auth, org.social_worker.auth
    later = await start_via_api(api, nurse, org.team, demo=True, policy={"assessment_due_after": "P30D"})
    sooner = await start_via_api(api, nurse, org.team, demo=True, policy={"assessment_due_after": "P2D"})
    someone_elses = await start_via_api(api, nurse, org.team)
    for pathway, case_manager in ((later, org.nurse), (sooner, org.nurse), (someone_elses, org.social_worker)):
        ok(
            await api.post(
                f"/pathways/{pathway['pathway_id']}/triage",
                json={"route": "health_check", "case_manager": case_manager.staff_id},
                headers=nurse,
            )
        )

    async def caseload() -> list[str]:
        return [item["pathway_id"] for item in ok(await api.get("/me/caseload", headers=nurse))]

    expected = [sooner["pathway_id"], later["pathway_id"]]
    await eventually(lambda: _equals(caseload(), expected), what="caseload soonest first")
    others = ok(await api.get("/me/caseload", headers=social_worker))
    assert [item["pathway_id"] for item in others] == [someone_elses["pathway_id"]]
    # Demo pathways say so in listings, so nobody mistakes them for real clients.
    mine = ok(await api.get("/me/caseload", headers=nurse))
    assert [item["demo"] for item in mine] == [True, True]
    assert [item["demo"] for item in others] == [False]


async def test_team_reviews_list_pending_items_oldest_first_with_their_reason(api: httpx.AsyncClient, org: Org) -> None:
    nurse = org.nurse.auth
    older = await start_via_api(api, nurse, org.team)
    newer = await start_via_api(api, nurse, org.team)
    quiet = await start_via_api(api, nurse, org.team)
    for pathway in (older, newer):
        ok(await api.post(f"/pathways/{pathway['pathway_id']}/team-review", json={"reason": "Stuck"}, headers=nurse))
        await asyncio.sleep(0.01)  # distinct opening times

    async def pending() -> list[dict[str, Any]]:
        return ok(await api.get("/team-reviews", headers=org.coordinator.auth))  # type: ignore[no-any-return]

    await eventually(lambda: _equals(_ids(pending()), [older["pathway_id"], newer["pathway_id"]]), what="oldest first")
    reviews = await pending()
    assert {review["reason"] for review in reviews} == {"Stuck"}
    assert quiet["pathway_id"] not in [review["pathway_id"] for review in reviews]


async def _ids(reviews: Awaitable[list[dict[str, Any]]]) -> list[str]:
    return [review["pathway_id"] for review in await reviews]
