"""The record lives in the database: a closed pathway stays readable after its workflow execution is deleted,
a client's earlier pathways stay readable beside a new one, and a client has at most one open pathway."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.temporal import temporal_cli_path
from tests.support.fixtures import Org
from tests.support.helpers import client_reference, eventually, intake_body, ok, service_body


async def _closed_pathway(api: httpx.AsyncClient, org: Org, reference: str) -> str:
    """A pathway taken to a closure with goals, a plan, follow-ups and feedback; its id."""
    nurse, coordinator = org.nurse.auth, org.coordinator.auth
    receipt = ok(await api.post("/pathways", json=intake_body(org.team, reference), headers=nurse), 201)
    pathway = f"/pathways/{receipt['pathway_id']}"
    ok(
        await api.post(
            f"{pathway}/triage", json={"route": "health_check", "case_manager": org.nurse.staff_id}, headers=coordinator
        )
    )
    ok(await api.post(f"{pathway}/goals", json={"text": f"Goal of {receipt['pathway_id']}"}, headers=nurse))
    ok(await api.post(f"{pathway}/assessment", json={"summary": "Fair", "recommendation": "Services"}, headers=nurse))
    ok(await api.post(f"{pathway}/plan", json={"services": [service_body()]}, headers=nurse))
    for note in ("First contact", "Second contact"):
        ok(await api.post(f"{pathway}/follow-ups", json={"channel": "phone", "note": note}, headers=nurse))
    ok(await api.post(f"{pathway}/feedback", json={"rating": 4, "comment": "Good support"}, headers=nurse))
    ok(await api.post(f"{pathway}/close", json={"reason": "moved_away", "note": "Moved to Oulu"}, headers=nurse))

    async def closed() -> Any:
        state = ok(await api.get(pathway, headers=nurse))
        return state if state["process"] == "closed" and state["closure"] else None

    await eventually(closed, what="closed and recorded")
    return str(receipt["pathway_id"])


def _delete_workflow(client: Client, pathway_id: str) -> None:
    """The real `temporal workflow delete`, as an operator or the namespace's retention would."""
    subprocess.run(
        [
            str(temporal_cli_path()),
            "workflow",
            "delete",
            "--workflow-id",
            pathway_id,
            "--address",
            client.service_client.config.target_host,
            "--namespace",
            client.namespace,
            "--yes",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )


async def test_a_closed_pathway_reads_whole_after_its_workflow_execution_is_deleted(
    api: httpx.AsyncClient, client: Client, org: Org
) -> None:
    pathway_id = await _closed_pathway(api, org, client_reference())
    nurse, coordinator = org.nurse.auth, org.coordinator.auth
    before = {
        "record": ok(await api.get(f"/pathways/{pathway_id}", headers=nurse)),
        "timeline": ok(await api.get(f"/pathways/{pathway_id}/timeline", headers=nurse)),
        "follow_ups": ok(await api.get(f"/pathways/{pathway_id}/follow-ups", headers=nurse)),
        "fhir": ok(await api.get(f"/pathways/{pathway_id}/fhir", headers=nurse)),
        "report": ok(await api.get("/reports/outcomes", params={"team": org.team}, headers=coordinator)),
    }
    _delete_workflow(client, pathway_id)

    async def gone() -> bool:
        try:
            await client.get_workflow_handle(pathway_id).describe()
        except RPCError as err:
            return err.status is RPCStatusCode.NOT_FOUND
        return False

    # The server deletes asynchronously (about half a minute on the dev server).
    await eventually(gone, what="workflow execution deleted", timeout=120, interval=1)
    after = {
        "record": ok(await api.get(f"/pathways/{pathway_id}", headers=nurse)),
        "timeline": ok(await api.get(f"/pathways/{pathway_id}/timeline", headers=nurse)),
        "follow_ups": ok(await api.get(f"/pathways/{pathway_id}/follow-ups", headers=nurse)),
        "fhir": ok(await api.get(f"/pathways/{pathway_id}/fhir", headers=nurse)),
        "report": ok(await api.get("/reports/outcomes", params={"team": org.team}, headers=coordinator)),
    }
    assert after == before, "nothing of the record is lost with the workflow execution"
    record = after["record"]
    assert record["closure"]["note"] == "Moved to Oulu"
    assert [item["note"] for item in after["follow_ups"]["items"]] == ["First contact", "Second contact"]
    assert record["feedback"][0]["comment"] == "Good support"
    assert after["report"]["pathways"] == 1 and after["report"]["outcomes"]["closed_pathways"] == 1


async def test_a_re_referred_client_gets_a_new_pathway_and_the_earlier_record_stays_its_own(
    api: httpx.AsyncClient, org: Org
) -> None:
    reference = client_reference()
    first = await _closed_pathway(api, org, reference)
    assert first == f"pathway-{reference}"
    nurse = org.nurse.auth
    second = ok(
        await api.post("/pathways", json=intake_body(org.team, reference, reason="Back after a year"), headers=nurse),
        201,
    )
    assert second["pathway_id"] == f"pathway-{reference}.2" and second["ordinal"] == 2

    async def second_record() -> Any:
        response = await api.get(f"/pathways/{second['pathway_id']}", headers=nurse)
        return response.json() if response.status_code == 200 else None

    new = await eventually(second_record, what="the second pathway's record")
    old = ok(await api.get(f"/pathways/{first}", headers=nurse))
    assert old["referral"]["reason"] == "Long unemployment, reduced work ability suspected" and old["stage"] == "closed"
    assert new["referral"]["reason"] == "Back after a year" and new["stage"] == "awaiting_triage" and new["goals"] == []
    listed = ok(await api.get(f"/clients/{reference}/pathways", headers=nurse))["items"]
    assert [item["pathway_id"] for item in listed] == [second["pathway_id"], first]
    old_fhir = ok(await api.get(f"/pathways/{first}/fhir", headers=nurse))
    new_fhir = ok(await api.get(f"/pathways/{second['pathway_id']}/fhir", headers=nurse))
    shared = {"Patient", "Practitioner", "Organization"}

    def own_updates(bundle: dict[str, Any]) -> set[str]:
        return {e["request"]["url"] for e in bundle["entry"] if e["resource"]["resourceType"] not in shared}

    # A re-export is a set of conditional updates by identifier: the new episode's never hit the earlier one's.
    assert own_updates(old_fhir).isdisjoint(own_updates(new_fhir)), "the new episode never updates the earlier one"
    assert {e["fullUrl"] for e in old_fhir["entry"]}.isdisjoint({e["fullUrl"] for e in new_fhir["entry"]})
    [old_episode] = [e["resource"] for e in old_fhir["entry"] if e["resource"]["resourceType"] == "EpisodeOfCare"]
    [new_episode] = [e["resource"] for e in new_fhir["entry"] if e["resource"]["resourceType"] == "EpisodeOfCare"]
    assert (old_episode["identifier"][0]["value"], new_episode["identifier"][0]["value"]) == (
        first,
        second["pathway_id"],
    )


async def test_a_client_has_at_most_one_open_pathway_even_with_intakes_at_the_same_time(
    api: httpx.AsyncClient, org: Org
) -> None:
    reference = client_reference()
    responses = await asyncio.gather(
        *(api.post("/pathways", json=intake_body(org.team, reference), headers=org.nurse.auth) for _ in range(4))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409], [response.text for response in responses]
    conflict = next(response for response in responses if response.status_code == 409)
    assert "already has an open pathway" in conflict.json()["detail"]
    again = await api.post("/pathways", json=intake_body(org.team, reference), headers=org.nurse.auth)
    assert again.status_code == 409 and f"pathway-{reference}" in again.json()["detail"]


async def test_an_unknown_pathway_is_404_and_another_teams_is_403(api: httpx.AsyncClient, org: Org) -> None:
    assert (await api.get("/pathways/pathway-nobody-here", headers=org.nurse.auth)).status_code == 404
    receipt = ok(await api.post("/pathways", json=intake_body(org.team), headers=org.nurse.auth), 201)
    response = await api.get(f"/pathways/{receipt['pathway_id']}", headers=org.outsider.auth)
    assert response.status_code == 403 and "not on your team" in response.json()["detail"]
