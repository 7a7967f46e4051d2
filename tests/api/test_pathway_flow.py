"""Whole pathways through HTTP only: intake to closure, listings, caseload and team reviews."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.tables import AuditLogEntry

from .conftest import Org
from .helpers import eventually, new_client_reference, ok, service_body, start

DEMO_POLICY = {"sustainment_period": "PT2S", "sustainment_confirm_grace": "PT1H"}


async def test_complete_pathway_from_intake_to_closure_through_http(api: httpx.AsyncClient, org: Org) -> None:
    coordinator, nurse = org.coordinator.auth, org.nurse.auth

    response = await api.post(
        "/pathways",
        json={
            "client_reference": new_client_reference(),
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
    assert (receipt["team"], receipt["stage"], receipt["registered_by"], receipt["demo"]) == (
        org.team,
        "awaiting_triage",
        org.nurse.staff_id,
        True,
    )
    # The state is the worker's: the receipt's Location shows it once the pathway's first step has run.
    state = ok(await api.get(pathway, headers=nurse))
    assert state["stage"] == "awaiting_triage"
    assert state["intake"]["registered_by"] == org.nurse.staff_id
    assert state["intake"]["client_language"] == "sv"

    state = ok(
        await api.post(
            f"{pathway}/triage",
            json={"route": "extended_assessment", "assessment_level": "basic", "case_manager": org.nurse.staff_id},
            headers=coordinator,
        )
    )
    assert (state["stage"], state["case_manager"]) == ("assessment", org.nurse.staff_id)

    state = ok(await api.post(f"{pathway}/goals", json={"text": "Start vocational studies"}, headers=nurse))
    assert [goal["text"] for goal in state["goals"]] == ["Start vocational studies"]

    state = ok(await api.post(f"{pathway}/investigations", json={"description": "Physiotherapist"}, headers=nurse))
    investigation_id = state["investigations"][0]["investigation_id"]
    state = ok(
        await api.post(
            f"{pathway}/investigations/{investigation_id}/complete",
            json={"result_summary": "Can work part-time"},
            headers=nurse,
        )
    )
    assert state["investigations"][0]["status"] == "completed"

    state = ok(
        await api.post(
            f"{pathway}/assessment",
            json={"summary": "Reduced work ability", "recommendation": "Vocational rehabilitation"},
            headers=nurse,
        )
    )
    assert state["stage"] == "planning"

    state = ok(await api.post(f"{pathway}/plan", json={"services": [service_body()]}, headers=nurse))
    assert state["stage"] == "in_services"
    service_id = state["services"][0]["service_id"]
    state = ok(await api.post(f"{pathway}/services/{service_id}", json={"change": "started"}, headers=nurse))
    assert state["services"][0]["status"] == "active"

    state = ok(await api.post(f"{pathway}/follow-ups", json={"channel": "phone", "note": "Going well"}, headers=nurse))
    assert len(state["follow_ups"]) == 1

    state = ok(await api.post(f"{pathway}/team-review", json={"reason": "Second opinion"}, headers=nurse))
    assert state["team_reviews"][0]["decided_at"] is None
    state = ok(
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
    assert state["case_manager"] == org.social_worker.staff_id
    assert [p["staff_id"] for p in state["case_manager_history"]] == [org.nurse.staff_id, org.social_worker.staff_id]

    social_worker = org.social_worker.auth
    state = ok(
        await api.post(
            f"{pathway}/outcome",
            json={"solution": "studies", "description": "Admitted to studies"},
            headers=social_worker,
        )
    )
    assert state["stage"] == "sustainment"
    state = ok(await api.post(f"{pathway}/feedback", json={"rating": 5, "comment": "Helpful"}, headers=social_worker))
    assert state["feedback"][0]["recorded_by"] == org.social_worker.staff_id

    # The solution can be confirmed only after the (demo) sustainment period of two seconds.
    async def confirmed() -> dict[str, object] | None:
        response = await api.post(
            f"{pathway}/sustainment/confirm", json={"held": True, "note": "Studying"}, headers=social_worker
        )
        if response.status_code == 409 and "sustainment period runs until" in response.json()["detail"]:
            return None
        return ok(response)  # type: ignore[no-any-return]

    state = await eventually(confirmed, timeout=15, interval=0.5, what="sustainment confirmed")
    assert state["stage"] == "closed"
    assert state["closure"]["reason"] == "completed"

    timeline = ok(await api.get(f"{pathway}/timeline", headers=coordinator))
    kinds = [event["kind"] for event in timeline]
    assert kinds[0] == "referral_received" and kinds[-1] == "closed"
    assert {"triaged", "case_manager_changed", "outcome_recorded", "sustainment_confirmed"} <= set(kinds)
    actors = {event["kind"]: event["actor"] for event in timeline}
    assert actors["triaged"] == org.coordinator.staff_id
    assert actors["referral_received"] == org.nurse.staff_id
    assert actors["outcome_recorded"] == org.social_worker.staff_id

    closed = ok(await api.get(pathway, headers=nurse))
    assert closed["stage"] == "closed"

    audit = ok(await api.get("/audit", params={"pathway_id": state["pathway_id"]}, headers=coordinator))
    actions = [(entry["staff_id"], entry["action"], entry["outcome"]) for entry in audit]
    assert actions[0] == (org.nurse.staff_id, "start", "ok")
    assert (org.coordinator.staff_id, "triage", "ok") in actions
    assert (org.nurse.staff_id, "read_state", "ok") in actions
    assert (org.coordinator.staff_id, "read_timeline", "ok") in actions


async def test_listing_filters_by_stage_case_manager_and_team_review(
    api: httpx.AsyncClient, org: Org, engine: Engine
) -> None:
    nurse = org.nurse.auth
    waiting = await start(api, nurse, org.team)
    triaged = await start(api, nurse, org.team)
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
    await eventually(lambda: _equals(listed(), both), what="both pathways listed")
    await eventually(lambda: _equals(listed(stage="awaiting_triage"), [waiting["pathway_id"]]), what="stage filter")
    await eventually(
        lambda: _equals(listed(case_manager=org.nurse.staff_id), [triaged["pathway_id"]]), what="case manager filter"
    )
    await eventually(
        lambda: _equals(listed(team_review_pending="true"), [triaged["pathway_id"]]), what="team review filter"
    )
    assert await listed(overdue="true") == []

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

    # Being shown in a listing is a read of the pathway, and is on record as one.
    with Session(engine) as session:
        listed_ids = session.exec(
            select(AuditLogEntry.pathway_id).where(
                AuditLogEntry.staff_id == org.nurse.staff_id, AuditLogEntry.action == "listed"
            )
        ).all()
    assert set(listed_ids) == set(both)


async def _equals(listing: Awaitable[list[str]], expected: list[str]) -> bool:
    return await listing == expected


async def test_caseload_lists_own_pathways_soonest_deadline_first(api: httpx.AsyncClient, org: Org) -> None:
    nurse, social_worker = org.nurse.auth, org.social_worker.auth
    later = await start(api, nurse, org.team, demo=True, policy={"assessment_due_after": "P30D"})
    sooner = await start(api, nurse, org.team, demo=True, policy={"assessment_due_after": "P2D"})
    someone_elses = await start(api, nurse, org.team)
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


async def test_team_reviews_list_pending_items_oldest_first(api: httpx.AsyncClient, org: Org) -> None:
    nurse = org.nurse.auth
    older = await start(api, nurse, org.team)
    newer = await start(api, nurse, org.team)
    quiet = await start(api, nurse, org.team)
    for pathway in (older, newer):
        ok(await api.post(f"/pathways/{pathway['pathway_id']}/team-review", json={"reason": "Stuck"}, headers=nurse))
        await asyncio.sleep(0.01)  # distinct opening times

    async def pending() -> list[str]:
        return [item["pathway_id"] for item in ok(await api.get("/team-reviews", headers=org.coordinator.auth))]

    await eventually(lambda: _equals(pending(), [older["pathway_id"], newer["pathway_id"]]), what="oldest first")
    assert quiet["pathway_id"] not in await pending()
